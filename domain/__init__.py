"""What a defect segmentation is: frozen specs and numpy maths, free of TensorFlow."""
