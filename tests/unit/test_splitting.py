"""The stratified validation part and defect types from file names."""

from collections import Counter

import pytest

from unet_defects.domain.splitting import name_prefix, stratified_split, types_from_names


@pytest.mark.parametrize("stem, prefix", [("MT_Blowhole_exp1_num_3667", "MT_Blowhole"), ("0001", ""),
                                          ("scratch-12", "scratch"), ("good.part.7", "good_part"),
                                          ("crack", "crack")])
def test_the_name_prefix_is_the_words_before_the_first_number(stem, prefix):
    assert name_prefix(stem) == prefix


def test_types_come_from_names_only_when_the_names_carry_a_few():
    stems = ["MT_Free_1", "MT_Free_2", "MT_Crack_3", "MT_Crack_4", "MT_Fray_5", "MT_Fray_6"]
    assert types_from_names(stems) == ["MT_Free"] * 2 + ["MT_Crack"] * 2 + ["MT_Fray"] * 2
    assert types_from_names([f"{i:03d}" for i in range(50)]) is None  # numbers only
    assert types_from_names(["a_1", "a_2", "a_3"]) is None  # one type is no type
    assert types_from_names(["a_1", "a_2", "b_3"]) is None  # a type of one file
    assert types_from_names([f"t{i}x_1" for i in range(30)]) is None  # every name its own prefix


def test_every_stratum_is_held_out_in_the_same_share():
    strata = [(False, "free")] * 70 + [(True, "hole")] * 20 + [(True, "crack")] * 10
    kept, held = stratified_split(strata, 0.2, seed=0)
    assert sorted(kept + held) == list(range(100)) and not set(kept) & set(held)
    assert Counter(strata[i] for i in held) == {(False, "free"): 14, (True, "hole"): 4, (True, "crack"): 2}
    assert held == sorted(held) and kept == sorted(kept)


def test_a_small_stratum_still_gives_one_to_validation_and_keeps_one():
    strata = [(False, "")] * 10 + [(True, "rare")] * 2 + [(True, "single")]
    kept, held = stratified_split(strata, 0.1, seed=3)
    assert Counter(strata[i] for i in held)[(True, "rare")] == 1
    assert (True, "single") not in [strata[i] for i in held]  # one image cannot be in both parts
    assert Counter(strata[i] for i in kept)[(True, "single")] == 1


def test_the_split_follows_the_seed_and_never_empties_a_side():
    strata = [(i % 3 == 0, "") for i in range(30)]
    assert stratified_split(strata, 0.25, 1) == stratified_split(strata, 0.25, 1)
    assert stratified_split(strata, 0.25, 1) != stratified_split(strata, 0.25, 2)
    kept, held = stratified_split([(True, "")] * 2, 0.9, 0)
    assert len(kept) == 1 and len(held) == 1
    kept, held = stratified_split([(True, "a"), (False, "b")], 0.5, 0)  # singletons: one held out anyway
    assert len(kept) == 1 and len(held) == 1
    with pytest.raises(ValueError):
        stratified_split([(True, "")], 0.5, 0)
