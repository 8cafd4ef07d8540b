"""Fake CSEstimatorSpec: what a model_fn returns."""


class CSEstimatorSpec:
    def __init__(self, mode, loss=None, train_op=None, **kwargs):
        self.mode, self.loss, self.train_op, self.kwargs = mode, loss, train_op, kwargs
