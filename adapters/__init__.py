"""How it is done with real technology: TensorFlow, image files, dataset layouts."""
