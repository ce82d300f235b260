#!/usr/bin/python3
"""scikit-learn anchors for model/BENCHMARKS.md (Debian python3-sklearn).

usage: /usr/bin/python3 model/testdata/anchor.py [../shared/data] [--lr] [--nlupp-only]
Prints one JSON object per experiment. --lr adds multinomial LR (lbfgs), slow.
"""
import json, sys, time, resource, statistics
import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import make_union
from sklearn.svm import LinearSVC
from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier
from sklearn.preprocessing import MultiLabelBinarizer
from sklearn.metrics import f1_score

D = next((a for a in sys.argv[1:] if not a.startswith("--")), "../shared/data")

def load(p):
    with open(p) as f:
        rows = [json.loads(l) for l in f if l.strip()]
    return [r["text"] for r in rows], [r["labels"] for r in rows]

def word():
    return TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)

def word_char():
    return make_union(word(), TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2))

def latency(vec, clf, texts):
    d = []
    for t in texts[:2000]:
        s = time.perf_counter()
        clf.decision_function(vec.transform([t]))
        d.append(time.perf_counter() - s)
    d.sort()
    return d[len(d) // 2] * 1e6, d[int(len(d) * 0.99)] * 1e6

def clinc(name, mkvec, clf):
    Xt, yt = load(f"{D}/clinc150/train.jsonl")
    Xs, ys = load(f"{D}/clinc150/test.jsonl")
    yt = [l[0] for l in yt]; ys = [l[0] for l in ys]
    t0 = time.perf_counter()
    vec = mkvec()
    X = vec.fit_transform(Xt)
    clf.fit(X, yt)
    secs = time.perf_counter() - t0
    acc = float(np.mean(clf.predict(vec.transform(Xs)) == np.array(ys)))
    p50, p99 = latency(vec, clf, Xs)
    print(json.dumps({"experiment": "clinc150 " + name, "accuracy": round(acc, 4), "train_seconds": round(secs, 2),
                      "predict_p50_us": round(p50, 1), "predict_p99_us": round(p99, 1),
                      "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}), flush=True)

def nlupp(C=1.0):
    folds = [load(f"{D}/nlupp_hotels/fold{i}.jsonl") for i in range(20)]
    f1s = []
    t0 = time.perf_counter()
    for run in range(10):
        tr = [f for i, f in enumerate(folds) if i // 2 != run]
        te = [f for i, f in enumerate(folds) if i // 2 == run]
        Xt = sum((f[0] for f in tr), []); yt = sum((f[1] for f in tr), [])
        Xs = sum((f[0] for f in te), []); ys = sum((f[1] for f in te), [])
        mlb = MultiLabelBinarizer().fit(yt + ys)
        vec = word()
        clf = OneVsRestClassifier(LogisticRegression(C=C, max_iter=1000))
        clf.fit(vec.fit_transform(Xt), mlb.transform(yt))
        pred = (clf.predict_proba(vec.transform(Xs)) >= 0.5).astype(int)
        f1s.append(f1_score(mlb.transform(ys), pred, average="micro", zero_division=0))
    print(json.dumps({"experiment": f"nlupp_hotels large, OvR LR(C={C}) word1-2 @0.5", "micro_f1": round(statistics.mean(f1s), 4),
                      "seconds_10_runs": round(time.perf_counter() - t0, 2)}), flush=True)

if "--nlupp-only" not in sys.argv:
    clinc("tfidf word1-2 + LinearSVC", word, LinearSVC())
    clinc("tfidf word1-2 + char_wb2-5 + LinearSVC", word_char, LinearSVC())
for C in (1.0, 10.0, 100.0):
    nlupp(C)
if "--lr" in sys.argv:
    clinc("tfidf word1-2 + char_wb2-5 + LR lbfgs", word_char, LogisticRegression(max_iter=1000))
