"""The fast lane in front of FastAPI for the hot inference requests (see ``lane``)."""

from service.fastlane.lane import FastLane

__all__ = ["FastLane"]
