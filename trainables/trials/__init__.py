"""One module per trainable: config at the door, data, nets, the loop, metrics; and the registry."""
