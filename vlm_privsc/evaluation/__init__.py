"""Batch leakage evaluation: many photos x policies x schemes x SNR grids -> rows, summary, plots."""

from vlm_privsc.evaluation.dataset import FaceItem, load_faces
from vlm_privsc.evaluation.engines import Engine, LocalEngine, RayEngine
from vlm_privsc.evaluation.runner import EvalGrid, EvalRun, evaluate, run_evaluation
from vlm_privsc.evaluation.summary import summarise

__all__ = [
    "Engine",
    "EvalGrid",
    "EvalRun",
    "FaceItem",
    "LocalEngine",
    "RayEngine",
    "evaluate",
    "load_faces",
    "run_evaluation",
    "summarise",
]
