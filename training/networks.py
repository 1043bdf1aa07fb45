"""The networks of the course reports and the variants that beat them.

Each builder takes the input contract (``training.inputs``) and the number of classes and
returns a ``Network``: the ordered chain of named layers. The chain is what export needs:
the full model applies all of it, the head applies what follows the ``embedding`` layer,
so ``head(embed(x))`` reuses the very same layer objects. The input shape and the
in-model scaling come from the contract, which is what the manifest states.
"""

from __future__ import annotations

from dataclasses import dataclass

import keras
from keras import layers

from core.manifest import EMBEDDING_LAYER, LOGITS_LAYER, PROBABILITIES_LAYER, InputSpec
from training.inputs import scale_factor

#: Layers that carry no information of their own for a user probing the network.
UNPROBED_LAYER_TYPES = (layers.Rescaling, layers.Dropout, layers.Reshape)


@dataclass(frozen=True)
class Network:
    input_shape: tuple[int, ...]
    chain: tuple[keras.layers.Layer, ...]

    def __post_init__(self) -> None:
        names = [layer.name for layer in self.chain]
        for required in (EMBEDDING_LAYER, LOGITS_LAYER, PROBABILITIES_LAYER):
            if required not in names:
                raise ValueError(f"network has no layer named {required!r}")
        if names[-2:] != [LOGITS_LAYER, PROBABILITIES_LAYER]:
            raise ValueError("a network must end with 'logits' then 'probabilities'")

    @property
    def embedding_index(self) -> int:
        return [layer.name for layer in self.chain].index(EMBEDDING_LAYER)

    def head_layers(self) -> tuple[keras.layers.Layer, ...]:
        return self.chain[self.embedding_index + 1 :]


def _classifier_tail(num_classes: int) -> list[keras.layers.Layer]:
    return [
        layers.Dense(num_classes, name=LOGITS_LAYER),
        layers.Softmax(name=PROBABILITIES_LAYER),
    ]


def _scale(inputs: InputSpec) -> list[keras.layers.Layer]:
    """The ``scale`` layer the contract's ``scaling`` names, or none."""
    factor = scale_factor(inputs)
    return [] if factor is None else [layers.Rescaling(factor, name="scale")]


def mlp(inputs: InputSpec, num_classes: int, *, hidden: int, dropout: float = 0.0) -> Network:
    """Flatten -> Dense(hidden, relu) -> [Dropout] -> Dense(classes): the reports' MLP."""
    chain: list[keras.layers.Layer] = [*_scale(inputs), layers.Flatten(name="flatten")]
    chain.append(layers.Dense(hidden, activation="relu", name=EMBEDDING_LAYER))
    if dropout:
        chain.append(layers.Dropout(dropout, name="dropout"))
    return Network(inputs.shape, tuple(chain + _classifier_tail(num_classes)))


def deep_mlp(
    inputs: InputSpec, num_classes: int, *, hidden: tuple[int, ...], dropout: float = 0.0
) -> Network:
    """Several hidden Dense layers; the last one is the embedding."""
    chain: list[keras.layers.Layer] = [*_scale(inputs), layers.Flatten(name="flatten")]
    for i, width in enumerate(hidden):
        last = i == len(hidden) - 1
        name = EMBEDDING_LAYER if last else f"hidden{i + 1}"
        chain.append(layers.Dense(width, activation="relu", name=name))
        if dropout and not last:
            chain.append(layers.Dropout(dropout, name=f"dropout{i + 1}"))
    return Network(inputs.shape, tuple(chain + _classifier_tail(num_classes)))


def perceptron(inputs: InputSpec, num_classes: int) -> Network:
    """One Dense layer on the flattened input (the reports' sklearn-digits model).

    The flattened input is the 'embedding': the layer the head starts from.
    """
    chain = [*_scale(inputs), layers.Flatten(name=EMBEDDING_LAYER)]
    return Network(inputs.shape, tuple(chain + _classifier_tail(num_classes)))


def vector_mlp(inputs: InputSpec, num_classes: int, *, hidden: int) -> Network:
    """Dense(hidden, relu) -> Dense(classes) on a flat vector: the XOR report's network
    (32 parameters with 6 hidden units and 2 classes)."""
    chain = [*_scale(inputs), layers.Dense(hidden, activation="relu", name=EMBEDDING_LAYER)]
    return Network(inputs.shape, tuple(chain + _classifier_tail(num_classes)))


def cnn(
    inputs: InputSpec,
    num_classes: int,
    *,
    filters: tuple[int, ...] = (32, 32),
    convs: tuple[int, ...] | None = None,
    dense: tuple[int, ...] = (128, 84),
    dropout: float = 0.0,
    block_dropout: float = 0.0,
) -> Network:
    """Blocks of Conv2D(3x3)+BN+ReLU (``convs[i]`` of them; one each by default, the
    reports' best Fashion-MNIST CNN) then MaxPool [then Dropout], -> Dense layers. Convs
    are numbered through the blocks (conv1, conv2, ...), pools per block."""
    chain: list[keras.layers.Layer] = [
        *_scale(inputs),
        layers.Reshape((*inputs.shape, 1), name="reshape"),
    ]
    per_block = convs or (1,) * len(filters)
    if len(per_block) != len(filters):
        raise ValueError("convs needs one count per block of filters")
    conv = 0
    for block, (n, count) in enumerate(zip(filters, per_block, strict=True), start=1):
        for _ in range(count):
            conv += 1
            chain += [
                layers.Conv2D(n, 3, padding="same", use_bias=False, name=f"conv{conv}"),
                layers.BatchNormalization(name=f"bn{conv}"),
                layers.ReLU(name=f"relu{conv}"),
            ]
        chain.append(layers.MaxPooling2D(name=f"pool{block}"))
        if block_dropout:
            chain.append(layers.Dropout(block_dropout, name=f"block_dropout{block}"))
    chain.append(layers.Flatten(name="flatten"))
    for i, width in enumerate(dense, start=1):
        last = i == len(dense)
        chain.append(
            layers.Dense(width, activation="relu", name=EMBEDDING_LAYER if last else f"dense{i}")
        )
        if dropout and not last:
            chain.append(layers.Dropout(dropout, name=f"dropout{i}"))
    return Network(inputs.shape, tuple(chain + _classifier_tail(num_classes)))


def to_model(network: Network, name: str) -> keras.Model:
    inputs = keras.Input(network.input_shape, name="x")
    x = inputs
    for layer in network.chain:
        x = layer(x)
    return keras.Model(inputs, x, name=name)


def probed_layers(network: Network) -> tuple[keras.layers.Layer, ...]:
    return tuple(layer for layer in network.chain if not isinstance(layer, UNPROBED_LAYER_TYPES))
