package sign

// KMS providers linked into ailabel. Each registers its URI scheme with sigstore's kms package:
//
//	hashivault://KEY  HashiCorp Vault's transit engine. Environment: VAULT_ADDR, VAULT_TOKEN, and
//	                  TRANSIT_SECRET_ENGINE_PATH (default "transit"). Use an ecdsa-p256 (ES256) or
//	                  ecdsa-p384 (ES384) key, or ed25519; its certificate chain is given separately.
//
// Other sigstore providers (awskms://, gcpkms://, azurekms://) are separate Go modules with large
// SDKs; link one in the same way (a blank import) in a build of your own.
import (
	_ "github.com/sigstore/sigstore/pkg/signature/kms/hashivault"
)
