"""Fake of the vendor's CSConfig proto: keeps its fields."""


class CSConfig:
    def __init__(self, **fields):
        self.fields = fields
