"""Fake CerebrasEstimator. Like an Estimator, it builds the model_fn's graph from one batch of
the input_fn (in a TF1 graph) and records what it saw; it trains nothing."""

import tensorflow as tf

from cerebras.calls import record


class CerebrasEstimator:
    def __init__(self, model_fn, model_dir=None, config=None, params=None, warm_start_from=None):
        self.model_fn, self.model_dir, self.config, self.params = model_fn, model_dir, config, params
        record("init", model_dir=model_dir, cs_ip=config.cs_ip, cs_config=config.cs_config.fields,
               run_config=config.kwargs, warm_start_from=warm_start_from,
               params_sections=sorted(params))

    def _build(self, input_fn, mode):
        images, masks = next(iter(input_fn(self.params)))
        graph = tf.Graph()
        with graph.as_default():
            features = tf.compat.v1.placeholder(tf.float32, images.shape)
            labels = tf.compat.v1.placeholder(tf.float32, masks.shape)
            spec = self.model_fn(features, labels, mode, self.params)
            trainable = tf.compat.v1.trainable_variables()
            parameters = sum(int(v.shape.num_elements()) for v in trainable)
            with tf.compat.v1.Session(graph=graph) as session:
                session.run(tf.compat.v1.global_variables_initializer())
                loss = session.run(spec.loss, {features: images.numpy(), labels: masks.numpy()})
                session.run(spec.train_op, {features: images.numpy(), labels: masks.numpy()})
        return {"batch_shape": list(images.shape), "parameters": parameters, "loss": float(loss),
                "mode": mode, "has_train_op": spec.train_op is not None}

    def compile(self, input_fn, validate_only=False, mode="train"):
        record("compile", validate_only=validate_only, **self._build(input_fn, mode))

    def train(self, input_fn, steps=None, max_steps=None, use_cs=True):
        record("train", steps=steps, max_steps=max_steps, use_cs=use_cs, **self._build(input_fn, "train"))
