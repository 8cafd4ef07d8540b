"""Labelling tools' annotation formats read as images and shapes (domain.annotations)."""
