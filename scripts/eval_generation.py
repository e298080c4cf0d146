"""The generative receiver on real photos: naturalness, privacy, the text's gain, seams: :mod:`vlm_privsc.evaluation.bench.generation`."""

from vlm_privsc.evaluation.bench.generation import main

if __name__ == "__main__":
    raise SystemExit(main())
