"""pufferlib.checks and the sampling / validation helpers of pufferlib.spaces."""
import numpy as np
import pytest
from gymnasium.spaces import Box, Discrete, MultiDiscrete

from pufferlib.checks import check_float, check_int
from pufferlib.exceptions import APIUsageError
from pufferlib.spaces import check_actions, sample_actions


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


# ---- check_actions ----------------------------------------------------------------------------
def test_check_actions_accepts_valid_without_copy():
    a = np.array([0, 2, 1], np.int64)
    assert check_actions(Discrete(3), a, 3) is a
    md = MultiDiscrete([3, 4], start=[-1, 2])
    assert check_actions(md, [[-1, 5], [1, 2]], 2).tolist() == [[-1, 5], [1, 2]]
    box = Box(-1.0, 1.0, (2,), np.float32)
    assert check_actions(box, np.zeros((1, 2), np.float64), 1).dtype == np.float64  # never cast
    assert check_actions(Discrete(3), 2, 1, allow_unbatched=True).shape == (1,)


@pytest.mark.parametrize("space,actions,match", [
    (Discrete(3), np.zeros(2, np.int64), r"shape \(2,\); expected shape \(3,\)"),
    (Discrete(3), np.zeros(3, np.float32), "dtype float32; expected an integer dtype.*integers in \\[0, 2\\]"),
    (Discrete(3), np.zeros(3, bool), "expected an integer dtype"),
    (Discrete(3, start=1), np.array([1, 0, 3]), "actions out of range: action 0 of agent 1 is outside"),
    (MultiDiscrete([3, 4], start=[-1, 2]), np.array([[0, 2], [-1, 6], [0, 3]]),
     r"action 6 of agent 1 at index \(1,\) is outside"),
    (Box(-1.0, 1.0, (2,), np.float32), np.zeros((3, 2), np.int64), "expected a floating dtype"),
    (Box(-1.0, 1.0, (2,), np.float32), np.array([[0, 0], [0, 1.5], [0, 0]]), "action 1.5 of agent 1"),
    (Box(-1.0, 1.0, (2,), np.float32), np.array([[0, 0], [0, 0], [np.nan, 0]]), "action nan of agent 2"),
    (Box(-np.inf, np.inf, (1,), np.float32), np.array([[0.0], [np.inf], [0.0]]), "finite real numbers"),
    (Box(0, 5, (1,), np.int8), np.zeros((3, 1), np.float32), "expected an integer dtype"),
    (Box(0, 5, (1,), np.int8), np.array([[0], [6], [0]]), "action 6 of agent 1"),
])
def test_check_actions_errors(space, actions, match):
    with pytest.raises(APIUsageError, match=match):
        check_actions(space, actions, 3)


def test_check_actions_live_mask_skips_range_of_absent_agents():
    actions = np.array([0, 99, 1])
    live = np.array([True, False, True])
    assert check_actions(Discrete(2), actions, 3, live=live) is actions
    with pytest.raises(APIUsageError, match="agent 2"):
        check_actions(Discrete(2), np.array([0, 99, 5]), 3, live=live)
    with pytest.raises(APIUsageError, match="dtype"):  # dtype is checked for every row
        check_actions(Discrete(2), actions.astype(np.float64), 3, live=live)
    with pytest.raises(APIUsageError, match="live must be"):
        check_actions(Discrete(2), actions, 3, live=live[:2])


def test_check_actions_unbatched_needs_opt_in():
    with pytest.raises(APIUsageError, match="shape"):
        check_actions(Discrete(3), 2, 1)
    with pytest.raises(APIUsageError, match="shape"):
        check_actions(MultiDiscrete([3, 3]), [1, 2], 2, allow_unbatched=True)  # only for one agent
