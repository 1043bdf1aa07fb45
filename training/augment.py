"""Training-time augmentation that covers how people write and draw digits.

Per training image, drawn at random from the recipe's ``Augment`` ranges: stroke thickness
(a partial grey dilation or erosion with a 3x3 window: a blend between the image and its
3x3 max or min, so the stroke grows or thins by a fraction of a pixel to a pixel), where a
recipe asks for it a low-resolution copy (shrunk to 8-12 pixels a side and enlarged back:
the blur of a small bitmap or another scanner blown up to 28x28), then one geometric
resampling that combines rotation, scale (with a little aspect change), shear, translation
and an elastic distortion (a smooth random displacement field: uniform noise on a coarse
4x4 grid, bilinearly enlarged to the image, in the spirit of Simard, Steinkraus and Platt
2003). All of it is one bilinear gather per image in TensorFlow ops, vectorised over the
batch, inside the training graph: no Python per image. On one core it costs about 9 ms a
batch of 128 (13 ms before the dilation became shifted maxima and the four taps one
gather from a zero-framed copy, with bit-identical output), against about 10 ms for the
rest of a `digits` training step.

Seeded and deterministic: the layer draws from a ``keras.random.SeedGenerator`` seeded by
``keras.utils.set_random_seed`` (the trainer's seed), so the same seed gives the same
sequence of augmented batches. Training only: ``with_augmentation`` wraps the network in a
training model; the exported network is the same with or without it, and at inference the
layer passes its input through. Labels are never touched.

The held-out robustness sets (``core.datasets.robustness``) are built another way (a pen
re-drawn along skeletons at 280x280, fitted by the service's upload path) and never
inform these ranges.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import keras
import numpy as np
import tensorflow as tf

#: The coarse grid the elastic field is drawn on (per side).
ELASTIC_GRID = 4
#: Sides a low-resolution copy is shrunk to (a 28-pixel MNIST digit spans about 20 of
#: them, so 8 to 12 here is a figure of 6 to 9 pixels: an 8x8 bitmap's detail).
LOWRES_SIDES = (8, 10, 12)


@dataclass(frozen=True, kw_only=True)
class Augment:
    """Ranges of the random changes; each is symmetric about 'no change'; 0 turns it off."""

    #: Rotation by up to this many degrees either way.
    rotation: float = 0.0
    #: Scale by a factor in [1 - scale, 1 + scale]; the width also by up to ``aspect`` more.
    scale: float = 0.0
    aspect: float = 0.0
    #: Horizontal shear: x moves by up to ``shear`` times y.
    shear: float = 0.0
    #: Shift by up to this fraction of the image size, each axis.
    translation: float = 0.0
    #: Elastic displacement: up to this many pixels, smooth over a quarter of the image.
    elastic: float = 0.0
    #: Probability of thickening (then of thinning): a 0-1 blend with the 3x3 max (min).
    dilate: float = 0.0
    erode: float = 0.0
    #: Probability of a low-resolution copy: shrunk to one of ``LOWRES_SIDES`` pixels a
    #: side and enlarged back (another scanner, a small bitmap blown up by an upload). Off in
    #: ``HANDWRITING``: at 0.25, ``digits-cnn`` fell from 99.37% to 99.26% on MNIST test and
    #: from 97.33% to 96.83% on the held-out writers set (issue 22, one full-size run).
    lowres: float = 0.0
    #: Probability of a left-right mirror image (clothes, not digits).
    flip: float = 0.0

    @property
    def active(self) -> bool:
        return any(
            (
                self.rotation,
                self.scale,
                self.aspect,
                self.shear,
                self.translation,
                self.elastic,
                self.dilate,
                self.erode,
                self.lowres,
                self.flip,
            )
        )

    def describe(self) -> str:
        """The ranges that are on, for the manifest's training record."""
        return ", ".join(f"{k}={v:g}" for k, v in asdict(self).items() if v) or "none"


#: Shifts only: what the digits MLP was trained with before (5% of the size).
SHIFT_ONLY = Augment(translation=0.05)
#: How people write and draw digits: slanted, resized, sheared, off-centre, wobbly, in
#: pens from thin to thick.
HANDWRITING = Augment(
    rotation=15.0,
    scale=0.15,
    aspect=0.1,
    shear=0.3,
    translation=0.08,
    elastic=1.5,
    dilate=0.35,
    erode=0.2,
)


def _uniform(generator: keras.random.SeedGenerator, shape: tf.Tensor, limit: float) -> tf.Tensor:
    return keras.random.uniform(shape, minval=-limit, maxval=limit, seed=generator)


def thickness(
    images: tf.Tensor, choice: tf.Tensor, amount: tf.Tensor, *, dilate: float, erode: float
) -> tf.Tensor:
    """Blend each (B, H, W) image with its 3x3 max (choice < dilate) or min (next erode)."""
    grown = neighbourhood_max(images)
    thinned = -neighbourhood_max(-images)
    a = amount[:, None, None]
    grow = tf.cast(choice < dilate, images.dtype)[:, None, None]
    thin = tf.cast((choice >= dilate) & (choice < dilate + erode), images.dtype)[:, None, None]
    changed = images + grow * a * (grown - images) + thin * a * (thinned - images)
    # Back to the image's own peak: a thin pen is still black ink (uploads are stretched so).
    peak = tf.reduce_max(images, axis=(1, 2), keepdims=True)
    new_peak = tf.reduce_max(changed, axis=(1, 2), keepdims=True)
    return changed * tf.math.divide_no_nan(peak, new_peak)


def neighbourhood_max(images: tf.Tensor) -> tf.Tensor:
    """The max of each pixel's 3x3 neighbourhood in (B, H, W) images, the image's edge
    ignored: ``max_pool2d(3, 1, "SAME")``'s values, as two passes of shifted maxima (a
    one-channel pooling is three times as slow on CPU; max is exact, so nothing changes)."""
    padded = tf.pad(images, [[0, 0], [1, 1], [1, 1]], constant_values=-math.inf)
    rows = tf.maximum(tf.maximum(padded[:, :-2], padded[:, 1:-1]), padded[:, 2:])
    return tf.maximum(tf.maximum(rows[:, :, :-2], rows[:, :, 1:-1]), rows[:, :, 2:])


def low_resolution(images: tf.Tensor, choice: tf.Tensor, side: tf.Tensor) -> tf.Tensor:
    """Each (B, H, W) image whose ``choice`` is true shrunk to ``LOWRES_SIDES[side]``
    pixels a side (area average) and enlarged back (bilinear), ink stretched back to the
    image's own peak; the others unchanged."""
    size = tf.shape(images)[1:3]
    x = images[..., None]
    copies = [
        tf.image.resize(tf.image.resize(x, (n, n), method="area"), size, method="bilinear")
        for n in LOWRES_SIDES
    ]
    picked = tf.gather(tf.stack(copies, axis=1), side, batch_dims=1)[..., 0]
    peak = tf.reduce_max(images, axis=(1, 2), keepdims=True)
    picked = picked * tf.math.divide_no_nan(peak, tf.reduce_max(picked, axis=(1, 2), keepdims=True))
    return tf.where(choice[:, None, None], picked, images)


def warp(images: tf.Tensor, matrices: tf.Tensor, offsets: tf.Tensor) -> tf.Tensor:
    """Bilinear resampling of (B, H, W) images: output pixel p reads the input at
    ``matrices @ (p - centre) + centre + offsets[p]`` (zero outside the image).

    ``matrices`` (B, 2, 2) act on (x, y); ``offsets`` (B, H, W, 2) add per-pixel (x, y).
    """
    shape = tf.shape(images)
    batch, height, width = shape[0], shape[1], shape[2]
    ys, xs = tf.meshgrid(
        tf.range(height, dtype=images.dtype), tf.range(width, dtype=images.dtype), indexing="ij"
    )
    cy = (tf.cast(height, images.dtype) - 1) / 2
    cx = (tf.cast(width, images.dtype) - 1) / 2
    grid = tf.stack([xs - cx, ys - cy], axis=-1)  # (H, W, 2)
    src = tf.einsum("bij,hwj->bhwi", matrices, grid) + tf.stack([cx, cy]) + offsets
    sx, sy = src[..., 0], src[..., 1]
    x0, y0 = tf.floor(sx), tf.floor(sy)
    fx, fy = sx - x0, sy - y0
    # A frame of zeros around each image: a tap outside reads 0 from it (each tap's
    # coordinate clipped to the frame), so the four taps are one gather with no masks.
    framed = tf.reshape(tf.pad(images, [[0, 0], [1, 1], [1, 1]]), (-1,))

    def framed_index(v: tf.Tensor, size: tf.Tensor) -> tf.Tensor:
        return tf.cast(tf.clip_by_value(v, -1.0, tf.cast(size, v.dtype)), tf.int32) + 1

    left, right = framed_index(x0, width), framed_index(x0 + 1, width)
    top, bottom = framed_index(y0, height), framed_index(y0 + 1, height)
    row = width + 2
    top, bottom = top * row, bottom * row
    image = tf.reshape(tf.range(batch) * row * (height + 2), (batch, 1, 1, 1))
    index = image + tf.stack([top + left, top + right, bottom + left, bottom + right], axis=1)
    taps = tf.gather(framed, index)
    return (
        taps[:, 0] * (1 - fx) * (1 - fy)
        + taps[:, 1] * fx * (1 - fy)
        + taps[:, 2] * (1 - fx) * fy
        + taps[:, 3] * fx * fy
    )


class HandwritingAugmentation(keras.layers.Layer):
    """The ``Augment`` ranges applied to (B, H, W) or (B, H, W, 1) images in training."""

    def __init__(self, augment: Augment, *, seed: int | None = None, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.augment = augment
        self.generator = keras.random.SeedGenerator(seed)

    def call(self, inputs: tf.Tensor, training: bool | None = None) -> tf.Tensor:
        if not training:
            return inputs
        return tf.reshape(self.apply_random(inputs), tf.shape(inputs))

    def apply_random(self, inputs: tf.Tensor) -> tf.Tensor:
        a, g = self.augment, self.generator
        shape = tf.shape(inputs)
        batch, height, width = shape[0], shape[1], shape[2]
        images = tf.reshape(tf.cast(inputs, tf.float32), (batch, height, width))
        if a.dilate or a.erode:
            choice = keras.random.uniform((batch,), seed=g)
            amount = keras.random.uniform((batch,), seed=g)
            images = thickness(images, choice, amount, dilate=a.dilate, erode=a.erode)
        if a.lowres:
            choice = keras.random.uniform((batch,), seed=g) < a.lowres
            side = keras.random.randint((batch,), 0, len(LOWRES_SIDES), seed=g)
            images = low_resolution(images, choice, side)
        angle = _uniform(g, (batch,), math.radians(a.rotation))
        zoom = 1 + _uniform(g, (batch,), a.scale)
        stretch = 1 + _uniform(g, (batch,), a.aspect)
        shear = _uniform(g, (batch,), a.shear)
        cos, sin = tf.cos(angle), tf.sin(angle)
        # Source = R(angle) @ Shear @ diag(1 / (zoom * stretch), 1 / zoom) @ output.
        sx, sy = 1 / (zoom * stretch), 1 / zoom
        if a.flip:  # a mirror reads the source at -x
            mirrored = keras.random.uniform((batch,), seed=g) < a.flip
            sx = tf.where(mirrored, -sx, sx)
        matrices = tf.stack(
            [
                tf.stack([cos * sx, (cos * shear - sin) * sy], axis=-1),
                tf.stack([sin * sx, (sin * shear + cos) * sy], axis=-1),
            ],
            axis=1,
        )
        size = tf.cast(tf.stack([width, height]), tf.float32)
        shift = _uniform(g, (batch, 1, 1, 2), a.translation) * size
        offsets = tf.broadcast_to(shift, (batch, height, width, 2))
        if a.elastic:
            coarse = _uniform(g, (batch, ELASTIC_GRID, ELASTIC_GRID, 2), a.elastic)
            offsets = offsets + tf.image.resize(coarse, (height, width), method="bilinear")
        return warp(images, matrices, offsets)


def augmented(x: np.ndarray, augment: Augment, *, seed: int, batch: int = 1024) -> np.ndarray:
    """A seeded, augmented copy of ``x`` (float32, same shape): what the network saw in
    training, made outside it, e.g. to calibrate a threshold on the validation split as
    the model was trained to see it."""
    layer = HandwritingAugmentation(augment, seed=seed)
    x = np.asarray(x, dtype=np.float32)
    parts = [
        layer.apply_random(tf.constant(x[i : i + batch])).numpy() for i in range(0, len(x), batch)
    ]
    return np.concatenate(parts).reshape(x.shape) if parts else x.copy()


def with_augmentation(model: keras.Model, augment: Augment | None) -> keras.Model:
    """``model`` behind the augmentation layer (training only), or ``model`` itself."""
    if augment is None or not augment.active:
        return model
    x = keras.Input(tuple(model.input.shape[1:]))
    return keras.Model(x, model(HandwritingAugmentation(augment, name="augment")(x)))
