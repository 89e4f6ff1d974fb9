from pufferlib.ocean.snake.snake import Snake

__all__ = ["Snake"]
