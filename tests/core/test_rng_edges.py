"""Named streams and derived seeds against an independent recomputation of the module docstring:
``SeedSequence(seed, spawn_key=<4 little-endian 32-bit words of SHA-256(name)>)`` and PCG64; a
derived seed is the first 8 bytes of SHA-256 of ``root`` then ``/label``..., little-endian, >> 1."""

from __future__ import annotations

import hashlib
import struct

import numpy as np
import pytest

from sim.core.rng import RandomStreams, _name_key, derive_seed


def _key(name):
    return struct.unpack("<4I", hashlib.sha256(name.encode("utf-8")).digest()[:16])


def _gen(seed, name):
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=_key(name))))


@pytest.mark.parametrize("name", ["visitors", "", "bus.café", "a" * 300], ids=["plain", "empty", "non_ascii", "long"])
def test_the_name_key_is_four_little_endian_words_of_sha256(name):
    assert _name_key(name) == _key(name)
    assert isinstance(_name_key(name), tuple) and len(_name_key(name)) == 4


def test_a_stream_is_pcg64_seeded_by_the_seed_and_the_name_key():
    s = RandomStreams(42)
    for name in ["visitors", "crm", "bus.café"]:
        assert s(name).integers(0, 2**62, size=8).tolist() == _gen(42, name).integers(0, 2**62, size=8).tolist()
    assert isinstance(s("x").bit_generator, np.random.PCG64)


def test_the_same_name_gives_the_same_generator_object_and_stream_is_an_alias():
    s = RandomStreams(3)
    g = s("a")
    assert s("a") is g and s.stream("a") is g
    g.random(3)  # the stream continues; it is not re-created
    assert s("a").random() == pytest.approx(_gen(3, "a").random(4)[3])
    assert s("b") is not g


@pytest.mark.parametrize("seed", [0, 1, 2**40])
def test_seeds_from_zero_up_are_accepted_and_kept_as_int(seed):
    s = RandomStreams(seed)
    assert s.seed == seed and type(s.seed) is int
    assert s("v").random() == _gen(seed, "v").random()


def test_a_numpy_integer_seed_is_kept_as_a_python_int():
    s = RandomStreams(np.int64(5))
    assert s.seed == 5 and type(s.seed) is int


@pytest.mark.parametrize("seed", [-1, -(2**40)])
def test_a_negative_seed_is_refused(seed):
    with pytest.raises(ValueError) as err:
        RandomStreams(seed)
    assert str(err.value) == "seed must be >= 0"


def _derive(root, *labels):
    h = hashlib.sha256(str(root).encode())
    for label in labels:
        h.update(b"/" + str(label).encode())
    return struct.unpack("<Q", h.digest()[:8])[0] >> 1


@pytest.mark.parametrize("root,labels", [(1, ()), (1, ("rep", 0)), (7, ("rep", 12)), (0, (3, "x", "é")),
                                         (2**70, ("a",))])
def test_derived_seeds_are_the_documented_sha256_prefix(root, labels):
    got = derive_seed(root, *labels)
    assert got == _derive(root, *labels)
    assert 0 <= got < 2**63 and type(got) is int


def test_derived_seeds_separate_labels_and_roots():
    assert derive_seed(1, "ab") != derive_seed(1, "a", "b")  # the '/' separator is hashed
    assert derive_seed(1, 12) == derive_seed(1, "12")  # a label is its text
    assert derive_seed(1) != derive_seed(2)
    assert derive_seed(1, "rep", 0) != derive_seed(1, "rep", 1)
