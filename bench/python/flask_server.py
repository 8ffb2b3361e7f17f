"""
The serving peer: a minimal Flask + scikit-learn inference server in the shape
of AWS's "bring your own scikit-learn container" example (a ScoringService
holding a pickled model, GET /ping, POST /invocations parsing CSV with
pandas.read_csv(io.StringIO(...)) and answering CSV), run by gunicorn with sync
workers. JSON bodies ({"instances": [[...]]}) are accepted as well so that the
same JSON load can be sent to both servers.
Run: BENCH_SKLEARN_MODEL=model.pkl gunicorn -w 2 -k sync flask_server:app
"""
import io
import os
import pickle

import flask
import numpy as np
import pandas as pd


class ScoringService:
    model = None

    @classmethod
    def get_model(cls):
        if cls.model is None:
            with open(os.environ["BENCH_SKLEARN_MODEL"], "rb") as source:
                cls.model = pickle.load(source)
        return cls.model

    @classmethod
    def predict(cls, features):
        return cls.get_model().predict(features)


app = flask.Flask(__name__)


@app.route("/ping", methods=["GET"])
def ping():
    healthy = ScoringService.get_model() is not None
    return flask.Response(response="\n", status=200 if healthy else 404, mimetype="application/json")


@app.route("/invocations", methods=["POST"])
def invocations():
    if flask.request.content_type == "text/csv":
        features = pd.read_csv(io.StringIO(flask.request.data.decode("utf-8")), header=None)
        predictions = ScoringService.predict(features)
        out = io.StringIO()
        pd.DataFrame({"results": predictions}).to_csv(out, header=False, index=False)
        return flask.Response(response=out.getvalue(), status=200, mimetype="text/csv")
    if flask.request.content_type == "application/json":
        features = np.asarray(flask.request.get_json()["instances"], dtype=np.float64)
        predictions = ScoringService.predict(features)
        return flask.jsonify({"predictions": [{"score": float(score)} for score in predictions]})
    return flask.Response(response="This predictor only supports CSV and JSON data", status=415, mimetype="text/plain")
