"""Batch leakage evaluation: many photos x policies x schemes x SNR grids -> rows, summary, plots."""

from vlm_privsc.evaluation.dataset import FaceItem, load_faces
from vlm_privsc.evaluation.runner import EvalGrid, run_evaluation
from vlm_privsc.evaluation.summary import summarise

__all__ = ["EvalGrid", "FaceItem", "load_faces", "run_evaluation", "summarise"]
