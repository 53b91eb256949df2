package gitstatus

import (
	"bytes"
	"fmt"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/fluxcd/pkg/git/signature"
)

// Keys of the signing-key Secret, as Flux's image automation reads them.
const (
	SigningKeyPGPKey        = "git.asc"
	SigningKeySSHKey        = "identity"
	SigningKeyPassphraseKey = "passphrase"
)

// SignerFromSecret builds an OpenPGP signer ("git.asc", armored, with an optional
// "passphrase") or an SSH signer ("identity") from a signing-key Secret's data.
func SignerFromSecret(data map[string][]byte) (signature.Signer, error) {
	passphrase := data[SigningKeyPassphraseKey]
	if key := data[SigningKeyPGPKey]; len(key) > 0 {
		entities, err := openpgp.ReadArmoredKeyRing(bytes.NewReader(key))
		if err != nil {
			return nil, fmt.Errorf("reading the OpenPGP key in %q: %w", SigningKeyPGPKey, err)
		}
		if len(entities) != 1 {
			return nil, fmt.Errorf("%q must hold exactly one OpenPGP entity, it holds %d", SigningKeyPGPKey, len(entities))
		}
		entity := entities[0]
		if entity.PrivateKey == nil {
			return nil, fmt.Errorf("%q holds a public key; the signer needs the private key", SigningKeyPGPKey)
		}
		if entity.PrivateKey.Encrypted {
			if err := entity.PrivateKey.Decrypt(passphrase); err != nil {
				return nil, fmt.Errorf("decrypting the OpenPGP key with %q: %w", SigningKeyPassphraseKey, err)
			}
		}
		return signature.NewOpenPGPSigner(entity)
	}
	if key := data[SigningKeySSHKey]; len(key) > 0 {
		return signature.NewSSHSigner(key, passphrase)
	}
	return nil, fmt.Errorf("no %q (OpenPGP) or %q (SSH) key", SigningKeyPGPKey, SigningKeySSHKey)
}
