# The upstream-style serving baseline for `recpipe bench serve --baseline RATINGS`: a Flask app
# under gunicorn's sync workers, predicting with Surprise's SVD one row at a time, the way the
# workshop's SageMaker container serves /invocations. Trained once before the workers fork
# (gunicorn --preload) on the same ratings recpipe's model was trained on, so the request ids are
# known users and items and every row takes the full prediction path.
#
# Needs: flask, gunicorn, scikit-surprise, pandas (e.g. `pip install flask gunicorn scikit-surprise pandas`).
import io
import os
import sys

import flask
import pandas as pd
from surprise import SVD, Dataset, Reader

ratings_path = os.environ["RECPIPE_BASELINE_RATINGS"]
frame = pd.read_csv(ratings_path, usecols=[0, 1, 2], header=0, names=["user", "item", "rating"], dtype={"user": str, "item": str, "rating": float})
data = Dataset.load_from_df(frame, Reader(rating_scale=(frame.rating.min(), frame.rating.max())))
algo = SVD(random_state=0)
algo.fit(data.build_full_trainset())
print(f"baseline model: {len(frame)} ratings", file=sys.stderr, flush=True)

app = flask.Flask(__name__)


@app.route("/ping", methods=["GET"])
def ping():
    return flask.Response("", status=200)


@app.route("/invocations", methods=["POST"])
def invocations():
    rows = pd.read_csv(io.StringIO(flask.request.data.decode("utf-8")), header=None, names=["user", "item"], dtype=str)
    out = io.StringIO()
    for user, item in zip(rows.user, rows.item):
        out.write(f"{algo.predict(user, item).est}\n")
    return flask.Response(out.getvalue(), status=200, mimetype="text/csv")
