"""Issue 17, person gate sweep, step 2: re-threshold the cached detections (person_dump.py) for
confirmer variants: (false-masked negatives, negatives, found positives, positives). An offline
approximation of the guard (no min_size, no NMS), so it finds 54/68 where the guard finds 51/68."""

import pickle

from vlm_privsc.guard.guard import overlap

D = pickle.load(open("/tmp/explore/person.pkl", "rb"))


def run(face_y=0.5, face_m=0.9, hog_thr=0.9, hogk="hog", hog_cand=0.9, mo=0.5):
    fp = tp = 0
    npos = nneg = 0
    for f, (l, r) in D.items():
        cands = [d for d in r["selfie"] if d.score >= 0.5] + [d for d in r["hog"] if d.score >= hog_cand]
        conf = (
            [d for d in r["yunet"] if d.score >= face_y]
            + [d for d in r["mtcnn"] if d.score >= face_m]
            + [d for d in r[hogk] if d.score >= hog_thr]
        )
        hit = any(
            any(not (c.detector == d.detector and c.box == d.box) and overlap(d, c) >= mo for c in conf) for d in cands
        )
        if l == "1":
            npos += 1
            tp += hit
        else:
            nneg += 1
            fp += hit
    return fp, nneg, tp, npos


print("default", run())
for hk in ["hog", "hog2x"]:
    for ht in [0.7, 0.8, 0.85, 0.9, 0.95]:
        print(hk, ht, run(hog_thr=ht, hogk=hk))
for fy in [0.3, 0.4, 0.6, 0.7]:
    print("yunet", fy, run(face_y=fy))
print("mo 0.3", run(mo=0.3))
print("mo 0.7", run(mo=0.7))
print("no hog cand", run(hog_cand=1.01))
