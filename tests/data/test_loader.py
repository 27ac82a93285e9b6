"""TensorBatchLoader and SpinDataModule on the real data."""
import pytest
import pytorch_lightning as pl
import torch

from spindrop.data import SpinDataModule, TensorBatchLoader, channel_stats, normalize, random_crop_flip


def _toy(n: int = 10) -> tuple[torch.Tensor, torch.Tensor]:
    images = torch.arange(n, dtype=torch.uint8).view(n, 1, 1, 1).expand(n, 1, 4, 4).contiguous()
    return images, torch.arange(n)


def test_lengths_and_batch_sizes():
    images, labels = _toy(10)
    loader = TensorBatchLoader(images, labels, mean=(0.0,), std=(1.0,), batch_size=4)
    assert len(loader) == 3
    assert [len(y) for _, y in loader] == [4, 4, 2]
    dropped = TensorBatchLoader(images, labels, mean=(0.0,), std=(1.0,), batch_size=4,
                                drop_last=True)
    assert len(dropped) == 2 and [len(y) for _, y in dropped] == [4, 4]


def test_order_without_shuffle_and_values():
    images, labels = _toy(10)
    loader = TensorBatchLoader(images, labels, mean=(0.5,), std=(0.25,), batch_size=4)
    x, y = next(iter(loader))
    assert y.tolist() == [0, 1, 2, 3]
    assert x.dtype == torch.float32
    assert x[1, 0, 0, 0].item() == pytest.approx((1 / 255 - 0.5) / 0.25)


def test_shuffle_is_seeded_per_epoch():
    images, labels = _toy(50)

    def epochs(seed: int, n: int = 2) -> list[list[int]]:
        loader = TensorBatchLoader(images, labels, mean=(0.0,), std=(1.0,), batch_size=8,
                                   shuffle=True, seed=seed)
        return [torch.cat([y for _, y in loader]).tolist() for _ in range(n)]

    first, second = epochs(0)
    assert sorted(first) == list(range(50)) and sorted(second) == list(range(50))
    assert first != second                      # epoch 1 uses seed + 1
    assert epochs(0) == [first, second]         # reproducible
    assert epochs(1)[0] == second               # seed 1, epoch 0 ≡ seed 0, epoch 1
    loader = TensorBatchLoader(images, labels, mean=(0.0,), std=(1.0,), batch_size=8,
                               shuffle=True, seed=0)
    loader.set_epoch(1)
    assert torch.cat([y for _, y in loader]).tolist() == second
    loader.set_epoch(0)
    next(iter(loader))                          # a pass cut short still counts as epoch 0
    assert torch.cat([y for _, y in loader]).tolist() == second


def test_random_crop_flip():
    gen = torch.Generator().manual_seed(0)
    images = torch.randint(1, 256, (64, 3, 8, 8), dtype=torch.uint8)
    flipped_only = random_crop_flip(images, gen, padding=0)
    same = (flipped_only == images).flatten(1).all(1)
    mirrored = (flipped_only == images.flip(3)).flatten(1).all(1)
    assert (same | mirrored).all() and same.any() and mirrored.any()
    cropped = random_crop_flip(images, torch.Generator().manual_seed(1))
    assert cropped.shape == images.shape and cropped.dtype == torch.uint8
    assert (cropped == 0).any()                 # zero padding shows up in shifted crops
    assert torch.equal(cropped, random_crop_flip(images, torch.Generator().manual_seed(1)))


def test_normalised_batches_have_zero_mean(data_root, splits):
    train = splits("cifar10", "train")
    mean, std = channel_stats("cifar10", data_root)
    loader = TensorBatchLoader(train.images, train.labels, mean=mean, std=std, batch_size=10_000,
                               shuffle=True)
    x, y = next(iter(loader))
    assert x.shape == (10_000, 3, 32, 32) and y.shape == (10_000,)
    assert x.mean((0, 2, 3)).abs().max().item() < 0.02
    assert x.std((0, 2, 3)).sub(1).abs().max().item() < 0.02
    assert torch.equal(normalize(train.images[:10], mean, std),
                       (train.images[:10] / 255 - torch.tensor(mean).view(1, 3, 1, 1))
                       / torch.tensor(std).view(1, 3, 1, 1))
    augmented = TensorBatchLoader(train.images, train.labels, mean=mean, std=std,
                                  batch_size=1_000, shuffle=True, augment=True)
    xa, _ = next(iter(augmented))
    # the 4-px zero padding (pixel 0 → about −2 after normalising) shows up in the crops
    assert xa.shape == (1_000, 3, 32, 32) and (xa.amin(1) < -1.8).any()


def test_datamodule_splits(data_root):
    dm = SpinDataModule("mnist", root=data_root, batch_size=100, train_subset=1000, val_size=500,
                        test_subset=300, seed=0)
    dm.prepare_data()
    dm.setup("fit")
    assert (len(dm.train_set), len(dm.val_set), len(dm.test_set)) == (1000, 500, 300)
    assert (len(dm.train_dataloader()), len(dm.val_dataloader()), len(dm.test_dataloader())) == \
        (10, 5, 3)
    train_rows = {img.numpy().tobytes() for img in dm.train_set.images}
    assert not any(img.numpy().tobytes() in train_rows for img in dm.val_set.images)
    again = SpinDataModule("mnist", root=data_root, train_subset=1000, val_size=500, seed=0)
    again.setup()
    assert torch.equal(again.val_set.labels, dm.val_set.labels)
    other = SpinDataModule("mnist", root=data_root, train_subset=1000, val_size=500, seed=1)
    other.setup()
    assert not torch.equal(other.val_set.labels, dm.val_set.labels)
    x, y = next(iter(dm.val_dataloader()))
    assert x.shape == (100, 1, 28, 28) and y.dtype == torch.int64
    assert torch.equal(dm.normalize(dm.val_set.images[:100]), x)


def test_datamodule_normalize_before_setup(data_root):
    dm = SpinDataModule("cifar10", root=data_root)
    images = torch.full((2, 3, 32, 32), 255, dtype=torch.uint8)
    mean, std = channel_stats("cifar10", data_root)
    assert dm.normalize(images)[0, :, 0, 0].tolist() == pytest.approx(
        [(1 - m) / s for m, s in zip(mean, std)])


class _Linear(pl.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        self.fc = torch.nn.Linear(28 * 28, 10)
        self.seen = 0
        self.first_labels: list[list[int]] = []

    def training_step(self, batch, batch_idx):
        x, y = batch
        self.seen += len(y)
        if batch_idx == 0:
            self.first_labels.append(y.tolist())
        return torch.nn.functional.cross_entropy(self.fc(x.flatten(1)), y)

    def validation_step(self, batch, batch_idx):
        x, y = batch
        self.log("val/loss", torch.nn.functional.cross_entropy(self.fc(x.flatten(1)), y))

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)


# Lightning 2.6 calls a pytree helper that torch 2.13 deprecates; this test only.
@pytest.mark.filterwarnings(r"ignore:.*isinstance\(treespec, LeafSpec\).*:FutureWarning")
def test_lightning_accepts_the_loaders(data_root, tmp_path):
    dm = SpinDataModule("mnist", root=data_root, batch_size=64, train_subset=256, val_size=128,
                        test_subset=64)
    model = _Linear()
    trainer = pl.Trainer(max_epochs=2, limit_train_batches=3, accelerator="cpu", logger=False,
                         enable_checkpointing=False, enable_progress_bar=False,
                         enable_model_summary=False, default_root_dir=tmp_path)
    trainer.fit(model, datamodule=dm)
    assert model.seen == 2 * 3 * 64
    assert model.first_labels[0] != model.first_labels[1]  # epochs reshuffled
    assert "val/loss" in trainer.callback_metrics
