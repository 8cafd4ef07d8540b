"""Fake CSRunConfig: keeps its arguments."""


class CSRunConfig:
    def __init__(self, cs_ip=None, cs_config=None, **kwargs):
        self.cs_ip = cs_ip
        self.cs_config = cs_config
        self.kwargs = kwargs
