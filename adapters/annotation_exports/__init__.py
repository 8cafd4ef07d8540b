"""Predicted defects written in labelling tools' formats (COCO, LabelMe), for people to review and correct."""
