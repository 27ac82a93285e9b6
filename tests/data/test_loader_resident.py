"""The device-resident batch path (issue 26), exercised on the CPU: the loader holds its split on its
device once and makes every batch there (permutation, crop + flip, normalisation)."""
import pytest
import pytorch_lightning as pl
import torch

from spindrop.data import SpinDataModule, TensorBatchLoader, normalize, random_crop_flip

DEVICE = torch.device("cpu")


def _distinct(n: int, size: int = 6) -> tuple[torch.Tensor, torch.Tensor]:
    """n images whose pixels are all distinct and non-zero within an image (no symmetry a crop or a
    flip could map onto itself), image i offset by i so images differ too."""
    base = torch.arange(1, 3 * size * size + 1).view(3, size, size)
    images = ((base.unsqueeze(0) + torch.arange(n).view(n, 1, 1, 1)) % 250 + 1).to(torch.uint8)
    return images, torch.arange(n)


def test_the_split_is_moved_once_and_batches_are_made_on_its_device():
    images, labels = _distinct(20)
    loader = TensorBatchLoader(images, labels, mean=(0.5,) * 3, std=(0.25,) * 3, batch_size=6, device=DEVICE)
    held = loader.images.data_ptr()
    assert loader.images.device == DEVICE and loader.labels.device == DEVICE
    for _ in range(2):
        batches = list(loader)
        assert all(x.device == DEVICE and y.device == DEVICE for x, y in batches)
        # without shuffling or augmentation batch b is the normalised slice b of the held tensors
        for b, (x, y) in enumerate(batches):
            assert torch.equal(x, normalize(loader.images[6 * b:6 * b + 6], loader.mean, loader.std))
            assert torch.equal(y, loader.labels[6 * b:6 * b + 6])
    assert loader.images.data_ptr() == held  # no copy per epoch


@pytest.mark.parametrize("augment", [False, True])
def test_an_epoch_sees_every_training_image_once(augment):
    images, labels = _distinct(50)
    loader = TensorBatchLoader(images, labels, mean=(0.0,) * 3, std=(1.0,) * 3, batch_size=8, shuffle=True,
                               augment=augment, seed=3, device=DEVICE)
    for _ in range(3):
        seen = torch.cat([y for _, y in loader])
        assert sorted(seen.tolist()) == list(range(50))


def test_augmented_batches_are_crops_and_mirrors_of_their_images():
    images, labels = _distinct(64)
    loader = TensorBatchLoader(images, labels, mean=(0.0,) * 3, std=(1.0 / 255,) * 3, batch_size=64,
                               shuffle=True, augment=True, seed=0, device=DEVICE)
    x, y = next(iter(loader))
    assert x.shape == images.shape and x.dtype == torch.float32
    pixels = x.round().to(torch.uint8)  # std 1/255: the batch is the uint8 pixels again
    padded = torch.nn.functional.pad(images, (4,) * 4)
    offsets, flips = [], []
    for k in range(64):
        found = [(dy, dx, f) for dy in range(9) for dx in range(9) for f in (False, True)
                 if torch.equal(pixels[k], (lambda c: c.flip(2) if f else c)(padded[y[k], :, dy:dy + 6, dx:dx + 6]))]
        assert len(found) == 1, f"image {k} is not exactly one crop (or mirrored crop) of its image"
        offsets.append(found[0][:2])
        flips.append(found[0][2])
    # per-image randomness: many different windows in one batch, and both orientations
    assert len(set(offsets)) > 20
    assert 16 < sum(flips) < 48  # P(flip) = 1/2: 32 ± 4σ (σ = 4)


def test_augmentation_is_seeded():
    images, labels = _distinct(40)

    def first_epoch(seed: int) -> torch.Tensor:
        loader = TensorBatchLoader(images, labels, mean=(0.0,) * 3, std=(1.0,) * 3, batch_size=40, shuffle=True,
                                   augment=True, seed=seed, device=DEVICE)
        return next(iter(loader))[0]

    assert torch.equal(first_epoch(1), first_epoch(1))
    assert not torch.equal(first_epoch(1), first_epoch(2))


def test_random_crop_flip_draws_on_the_images_device():
    images, _ = _distinct(16)
    gen = torch.Generator(device=DEVICE).manual_seed(0)
    out = random_crop_flip(images.to(DEVICE), gen)
    assert out.device == DEVICE and out.shape == images.shape and out.dtype == torch.uint8


def test_the_datamodule_holds_its_loaders_on_the_trainers_device(data_root):
    data = SpinDataModule("mnist", root=data_root, batch_size=64, train_subset=256, val_size=128)
    data.setup()
    assert data.device == torch.device("cpu")  # no trainer attached
    trainer = pl.Trainer(accelerator="cpu", devices=1, logger=False, enable_checkpointing=False,
                         enable_progress_bar=False, enable_model_summary=False)
    data.trainer = trainer
    assert data.device == trainer.strategy.root_device
    loader = data.train_dataloader()
    assert loader.images.device == trainer.strategy.root_device
    assert sum(len(y) for _, y in loader) == 256
