"""What a user can do: one use case per verb, and the ports they need. No TensorFlow here."""
