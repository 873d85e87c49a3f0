"""One decorator registering zoo layers under the ``mtlzoo`` package for safe-mode loading."""

import keras

register = keras.saving.register_keras_serializable(package="mtlzoo")
