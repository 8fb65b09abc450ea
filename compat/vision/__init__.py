"""``compat.vision`` (torchvision's role): image ``transforms`` and ``datasets``.

>>> from compat.vision import datasets, transforms
>>> ds = datasets.Digits(train=False, transform=transforms.ToTensor())
>>> len(ds), tuple(ds[0][0].shape)
(359, (1, 8, 8))
"""

from compat.vision import datasets, functional, transforms
