"""The upstream-style serving baseline for `recpipe bench serve`: a Flask app under gunicorn that
answers SageMaker's /ping and /invocations (text/csv rows `user,item` -> one predicted rating per
line) with a Surprise SVD fitted on the same ratings as the recpipe model.

Run: RATINGS=path/to/ratings.csv gunicorn -w 2 -b 127.0.0.1:PORT --chdir crates/cli/src \
bench_upstream_serve:app, then point `recpipe bench serve --url` at it.
"""

import os

import flask
import pandas as pd
from surprise import SVD, Dataset, Reader


def _fit():
    df = pd.read_csv(os.environ["RATINGS"], usecols=["userId", "movieId", "rating"])
    data = Dataset.load_from_df(df[["userId", "movieId", "rating"]], Reader(rating_scale=(0.5, 5.0)))
    algo = SVD(random_state=0)
    algo.fit(data.build_full_trainset())
    return algo


ALGO = _fit()
app = flask.Flask(__name__)


@app.route("/ping", methods=["GET"])
def ping():
    return flask.Response(status=200)


@app.route("/invocations", methods=["POST"])
def invocations():
    out = []
    for line in flask.request.get_data(as_text=True).splitlines():
        if not line.strip():
            continue
        u, i = line.split(",")
        out.append(str(ALGO.predict(int(float(u)), int(float(i))).est))
    return flask.Response("\n".join(out) + "\n", status=200, mimetype="text/csv")
