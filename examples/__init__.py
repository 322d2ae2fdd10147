"""Small runnable examples of streamkit consumers."""
