__version__ = "0.1.0"

#: The first argument that makes the ``fame`` executable run a user plugin host (a frozen build's
#: executable is no Python interpreter); here so the CLI checks it without importing the host.
PLUGIN_HOST_FLAG = "--fame-plugin-host"
