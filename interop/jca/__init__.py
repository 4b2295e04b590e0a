"""Ground truth for fixed messages: the JDK's own ECDSA verifiers, under the real server's rule."""
