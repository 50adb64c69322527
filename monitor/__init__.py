"""Tripwatch's stream side: the faust app, the event contract and the processors."""
