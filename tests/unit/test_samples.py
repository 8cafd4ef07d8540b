import numpy as np

from unet_defects.application.samples import SampleKeeper
from unet_defects.application.values import SamplePicture


def picture(index: int) -> SamplePicture:
    blank = np.zeros((2, 2), bool)
    return SamplePicture(index, blank.astype(np.uint8), blank, blank)


def test_best_and_worst_over_all_images_and_a_typical_one_from_the_reservoir():
    rng = np.random.default_rng(1)
    dice = rng.random(1000)
    built = []
    keeper = SampleKeeper(reservoir=16, seed=3)
    for index, value in enumerate(dice):
        keeper.offer(index, float(value), lambda index=index: built.append(index) or picture(index))
    best, worst, typical = keeper.chosen()
    assert best.index == int(np.argmax(dice)) and worst.index == int(np.argmin(dice))
    assert 0.2 < dice[typical.index] < 0.8  # the median of a random sample of a uniform spread
    assert len(built) < 150  # pictures are made only for the images kept, not for all 1000


def test_fewer_images_give_fewer_pictures_without_repeats():
    keeper = SampleKeeper()
    keeper.offer(0, 0.5, lambda: picture(0))
    assert [p.index for p in keeper.chosen()] == [0]
    keeper.offer(1, 0.9, lambda: picture(1))
    assert sorted(p.index for p in keeper.chosen()) == [0, 1]
    assert SampleKeeper().chosen() == ()
