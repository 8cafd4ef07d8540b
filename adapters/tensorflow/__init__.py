"""TensorFlow adapters. Importing this package does not import TensorFlow."""
