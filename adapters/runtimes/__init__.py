"""Inference runtimes: one module per runtime, holding its export converter and its engine."""
