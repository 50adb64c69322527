"""The shared vocabulary: the event contract, topic and key names, settings, incidents and their store, the clock, geometry, money and the kinds of incident. Imports no other Tripwatch package."""
