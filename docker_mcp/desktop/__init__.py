"""Docker Desktop: whether it is running (its backend socket answers /ping), and the paths of its sockets."""
