"""PayMongo (https://developers.paymongo.com): Checkout Sessions for GCash, Maya, cards and QR Ph, and webhooks
signed with the `Paymongo-Signature` header. `simulator` is the local stand-in `make run` and the tests use."""
