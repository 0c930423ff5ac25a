"""Benchmark of the image engine against a naive Pillow baseline; run it with `python -m bench`.

Everything here is measurement, nothing here is asserted: the command prints a report and exits 0.
"""
