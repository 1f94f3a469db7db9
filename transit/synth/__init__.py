"""A made-up city for demos and benchmarks: `build_city` (pure) and `write_city` (the adapter)."""

from transit.synth.city import City, build_city
from transit.synth.write import write_city

__all__ = ["City", "build_city", "write_city"]
