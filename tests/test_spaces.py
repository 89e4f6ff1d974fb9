"""pufferlib.checks and the sampling / validation helpers of pufferlib.spaces."""
import numpy as np
import pytest
from gymnasium.spaces import Box, Discrete, MultiDiscrete

from pufferlib.checks import check_float, check_int
from pufferlib.exceptions import APIUsageError
from pufferlib.spaces import sample_actions


def test_check_int():
    assert check_int("n", np.int64(3), 1) == 3 and type(check_int("n", np.int64(3))) is int
    with pytest.raises(APIUsageError, match="n must be an int, got True"):
        check_int("n", True)
    with pytest.raises(APIUsageError, match="n must be an int"):
        check_int("n", 2.0)
    with pytest.raises(APIUsageError, match=r"n must be >= 1, got 0"):
        check_int("n", 0, 1)
    with pytest.raises(APIUsageError, match=r"n must be in \[1, 4\], got 5"):
        check_int("n", 5, 1, 4)


def test_check_float():
    assert check_float("x", 2) == 2.0 and type(check_float("x", np.float32(0.5))) is float
    for bad in (True, "1", np.nan, np.inf, None):
        with pytest.raises(APIUsageError, match="x must be a finite number"):
            check_float("x", bad)


@pytest.mark.parametrize("space", [
    Discrete(5, start=-2),
    MultiDiscrete([[2, 3], [4, 5]], start=[[1, 0], [-3, 7]]),
    Box(-1.0, 2.0, (3,), np.float32),
    Box(np.array([-np.inf, 0.0, -np.inf]), np.array([np.inf, np.inf, 1.0]), dtype=np.float64),
    Box(-3, 3, (2, 2), np.int8),
])
@pytest.mark.parametrize("steps", [None, 4])
def test_sample_actions_valid(space, steps):
    rng = np.random.default_rng(0)
    a = sample_actions(space, 6, rng, steps=steps)
    lead = (6,) if steps is None else (steps, 6)
    assert a.shape == (*lead, *space.shape) and a.flags.c_contiguous
    discrete = isinstance(space, (Discrete, MultiDiscrete))
    assert a.dtype == (np.int32 if discrete else space.dtype)
    for row in a.reshape(-1, *space.shape):
        assert space.contains(row.astype(space.dtype) if discrete else row)
    b = sample_actions(space, 6, np.random.default_rng(0), steps=steps)
    np.testing.assert_array_equal(a, b)  # determined by the generator


def test_sample_actions_covers_discrete_range():
    a = sample_actions(Discrete(3, start=1), 1000, np.random.default_rng(1))
    assert set(np.unique(a).tolist()) == {1, 2, 3}


def test_sample_actions_errors():
    rng = np.random.default_rng(0)
    with pytest.raises(APIUsageError, match="num_agents"):
        sample_actions(Discrete(2), 0, rng)
    with pytest.raises(APIUsageError, match="steps"):
        sample_actions(Discrete(2), 1, rng, steps=0)
    with pytest.raises(APIUsageError, match="Generator"):
        sample_actions(Discrete(2), 1, np.random.RandomState(0))
    with pytest.raises(APIUsageError, match="int32"):
        sample_actions(Discrete(2**40), 1, rng)
