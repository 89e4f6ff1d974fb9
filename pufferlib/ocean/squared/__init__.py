from pufferlib.ocean.squared.squared import Squared

__all__ = ["Squared"]
