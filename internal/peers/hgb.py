"""scikit-learn's HistGradientBoostingClassifier on churn's own feature snapshots.

Reads the snapshots that `churn features --export` wrote and prints one JSON
object: the in-period AUC (the Python baseline of issue 6: a stratified 75/25
random split of the validation snapshot, mean of five seeds) and the
out-of-time AUC (fitted on the training snapshots, judged on the validation
snapshot, as churn judges its own models). Only numpy and scikit-learn
(Debian's python3-sklearn) are needed.
"""
import argparse
import csv
import json
import sys
import time

import numpy as np
import sklearn
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split


def load(path, features, label, drop_cancelled):
    with open(path, newline="", encoding="utf-8") as f:
        rows = csv.reader(f)
        header = next(rows)
        idx = [header.index(c) for c in features]
        li = header.index(label)
        si = header.index("subscription_status") if "subscription_status" in header else -1
        X, y = [], []
        for r in rows:
            if drop_cancelled and si >= 0 and r[si] == "cancelled":
                continue
            X.append([float(r[i]) if r[i] != "" else np.nan for i in idx])
            y.append(1.0 if r[li] == "true" else 0.0)
    return np.asarray(X), np.asarray(y)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--train", nargs="+", required=True, help="training snapshot CSVs")
    ap.add_argument("--valid", required=True, help="validation snapshot CSV")
    ap.add_argument("--features", required=True, help="comma-separated model columns")
    ap.add_argument("--label", default="label_churned")
    a = ap.parse_args()
    feats = a.features.split(",")
    cancel = a.label == "label_cancelled"
    Xv, yv = load(a.valid, feats, a.label, cancel)
    parts = [load(p, feats, a.label, cancel) for p in a.train]
    Xt, yt = np.vstack([p[0] for p in parts]), np.concatenate([p[1] for p in parts])

    in_period = []
    for seed in range(5):
        X1, X2, y1, y2 = train_test_split(Xv, yv, test_size=0.25, stratify=yv, random_state=seed)
        m = HistGradientBoostingClassifier(random_state=seed).fit(X1, y1)
        in_period.append(roc_auc_score(y2, m.predict_proba(X2)[:, 1]))

    t0 = time.perf_counter()
    m = HistGradientBoostingClassifier(random_state=0).fit(Xt, yt)
    fit = time.perf_counter() - t0
    oot = roc_auc_score(yv, m.predict_proba(Xv)[:, 1])
    json.dump({"sklearn": sklearn.__version__, "valid_rows": len(yv), "train_rows": len(yt),
               "in_period_auc": float(np.mean(in_period)), "in_period_auc_sd": float(np.std(in_period)),
               "out_of_time_auc": float(oot), "fit_seconds": fit, "iterations": int(m.n_iter_)}, sys.stdout)
    print()


if __name__ == "__main__":
    main()
