//! Checkpoints and keys: the Go `note` package's reference vector, the C2SP example checkpoint,
//! strict parsing, signature checks and the key file rules.

use ed25519_dalek::SigningKey;
use ledger::keys::{self, KeyError};
use ledger::note::{NoteError, SignedNote, MAX_NOTE_BYTES};
use ledger::{Checkpoint, Hash, LogSigner, LogVerifier};

// golang.org/x/mod/sumdb/note note_test.go.
const GO_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
const GO_SKEY: &str =
    "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
const GO_TEXT: &str = "If you think cryptography is the answer to your problem,\n\
                       then you don't know what your problem is.\n";
const GO_SIG: &str = "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

const ORIGIN: &str = "creditbridge.test/audit";

fn signer() -> LogSigner {
    LogSigner::new(ORIGIN, SigningKey::from_bytes(&[7; 32])).unwrap()
}

fn checkpoint(size: u64) -> Checkpoint {
    Checkpoint {
        origin: ORIGIN.into(),
        size,
        root: Hash::leaf(format!("root {size}").as_bytes()),
        time: Some("2026-12-02T03:04:05.123456Z".parse().unwrap()),
        other_extensions: vec![],
    }
}

#[test]
fn the_go_reference_key_signs_and_verifies_byte_for_byte() {
    let signer = keys::from_text(GO_SKEY, "test").unwrap();
    assert_eq!(signer.verifier().to_vkey(), GO_VKEY);
    let note = signer.sign_note(GO_TEXT).unwrap();
    assert_eq!(note, format!("{GO_TEXT}\n{GO_SIG}"));
    let verifier = LogVerifier::from_vkey(GO_VKEY).unwrap();
    assert_eq!(verifier.verify_note(&note).unwrap(), GO_TEXT);
    let altered = note.replace("cryptography", "cryptographY");
    assert!(matches!(
        verifier.verify_note(&altered),
        Err(NoteError::BadSignature { .. })
    ));
}

/// Go's TestNewVerifier: every proper substring and every one-byte change of the key is refused.
#[test]
fn mangled_verifier_keys_are_refused() {
    let b = GO_VKEY.as_bytes();
    for i in 0..=b.len() {
        for j in i + 1..=b.len() {
            if i != 0 || j != b.len() {
                let k = std::str::from_utf8(&b[i..j]).unwrap();
                assert!(LogVerifier::from_vkey(k).is_err(), "{k} accepted");
            }
        }
    }
    for i in 0..b.len() {
        let mut m = b.to_vec();
        m[i] += 1;
        let k = String::from_utf8(m).unwrap();
        assert!(LogVerifier::from_vkey(&k).is_err(), "{k} accepted");
    }
    assert!(LogVerifier::from_vkey(
        "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
    )
    .is_err());
}

#[test]
fn the_c2sp_example_checkpoint_parses() {
    let note = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n\
                — example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n";
    let parsed = SignedNote::parse(note).unwrap();
    assert_eq!(parsed.signatures.len(), 1);
    assert_eq!(parsed.signatures[0].key_name, "example.com/behind-the-sofa");
    assert_eq!(parsed.signatures[0].signature.len(), 64);
    let checkpoint = Checkpoint::parse_body(&parsed.text).unwrap();
    assert_eq!(checkpoint.size, 20_852_163);
    assert_eq!(
        checkpoint.root.to_base64(),
        "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I="
    );
    assert_eq!(checkpoint.body(), parsed.text);
}

#[test]
fn a_signed_checkpoint_round_trips_and_keeps_its_time() {
    let signer = signer();
    let note = signer.sign(&checkpoint(42)).unwrap();
    assert!(note.starts_with(&format!(
        "{ORIGIN}\n42\n{}\ntime 2026-12-02T03:04:05.123456Z\n\n— {ORIGIN} ",
        checkpoint(42).root.to_base64()
    )));
    let verifier = LogVerifier::from_vkey(&signer.verifier().to_vkey()).unwrap();
    assert_eq!(verifier.verify_checkpoint(&note).unwrap(), checkpoint(42));
    // A witness cosignature (unknown key) beside ours is ignored.
    let cosigned = format!("{note}— witness.example/w1 AAAAAAAAAAAAAAAAAAAAAA==\n");
    assert_eq!(
        verifier.verify_checkpoint(&cosigned).unwrap(),
        checkpoint(42)
    );
}

#[test]
fn a_changed_checkpoint_or_another_key_is_refused_by_name() {
    let signer = signer();
    let verifier = signer.verifier();
    let note = signer.sign(&checkpoint(42)).unwrap();
    // Truncating the log to 41 leaves and keeping the signature.
    let truncated = note.replacen("\n42\n", "\n41\n", 1);
    assert!(matches!(
        verifier.verify_checkpoint(&truncated),
        Err(NoteError::BadSignature { .. })
    ));
    // The same checkpoint signed by an insider's own key under the same name.
    let insider = LogSigner::new(ORIGIN, SigningKey::from_bytes(&[8; 32])).unwrap();
    let forged = insider.sign(&checkpoint(42)).unwrap();
    let err = verifier.verify_checkpoint(&forged).unwrap_err();
    assert!(matches!(err, NoteError::NoSignatureFromKey { .. }));
    assert!(
        err.to_string().contains(&insider.verifier().key_id_hex()),
        "{err}"
    );
    // A key whose name is not the checkpoint's origin.
    let other = LogSigner::new("other.example/log", SigningKey::from_bytes(&[7; 32])).unwrap();
    assert!(matches!(
        other.sign(&checkpoint(1)),
        Err(NoteError::OriginMismatch { .. })
    ));
    let body = checkpoint(1).body();
    let signed_other = other.sign_note(&body).unwrap();
    assert!(matches!(
        other.verifier().verify_checkpoint(&signed_other),
        Err(NoteError::OriginMismatch { .. })
    ));
}

#[test]
fn malformed_checkpoints_are_refused_with_the_line() {
    let signer = signer();
    let good = signer.sign(&checkpoint(5)).unwrap();
    let root = checkpoint(5).root.to_base64();
    let sig_line = good.lines().last().unwrap().to_owned();
    let with_body = |body: &str| format!("{body}\n{sig_line}\n");
    let cases: Vec<(String, NoteError)> = vec![
        (good.trim_end().to_owned(), NoteError::NoFinalNewline),
        (good.replace("\n\n", "\n"), NoteError::NoBlankLine),
        (
            format!("{ORIGIN}\n5\n{root}\n\n"),
            NoteError::BadSignatureLine { line: 5 },
        ),
        (
            good.replace('—', "-"),
            NoteError::BadSignatureLine { line: 6 },
        ),
        (
            good.replace("\n5\n", "\n5\r\n"),
            NoteError::ControlCharacter { line: 2, code: 13 },
        ),
        (
            good.replace(ORIGIN, "creditbridge.test/\taudit"),
            NoteError::ControlCharacter { line: 1, code: 9 },
        ),
        (
            good.replacen(&format!("— {ORIGIN} "), "— bad+name ", 1),
            NoteError::BadKeyName { line: 6 },
        ),
        (
            format!(
                "{}— {ORIGIN} not*base64\n",
                good.strip_suffix(&format!("{sig_line}\n")).unwrap()
            ),
            NoteError::BadSignatureBase64 { line: 6 },
        ),
        (
            "x".repeat(MAX_NOTE_BYTES + 1),
            NoteError::TooLarge(MAX_NOTE_BYTES + 1),
        ),
    ];
    for (note, want) in cases {
        assert_eq!(
            SignedNote::parse(&note).map(|_| ()),
            Err(want.clone()),
            "{note:?}"
        );
        assert_eq!(signer.verifier().verify_checkpoint(&note), Err(want));
    }
    let bodies: Vec<(String, usize)> = vec![
        (format!("\n5\n{root}\n"), 1),
        (format!("{ORIGIN}\n05\n{root}\n"), 2),
        (format!("{ORIGIN}\n+5\n{root}\n"), 2),
        (format!("{ORIGIN}\n 5\n{root}\n"), 2),
        (format!("{ORIGIN}\n18446744073709551616\n{root}\n"), 2),
        (format!("{ORIGIN}\n5\n{}\n", root.trim_end_matches('=')), 3),
        (format!("{ORIGIN}\n5\nAAAA\n"), 3),
        (format!("{ORIGIN}\n5\n"), 3),
        (format!("{ORIGIN}\n5\n{root}\ntime yesterday\n"), 4),
        (
            format!("{ORIGIN}\n5\n{root}\ntime 2026-12-02T03:04:05Z\ntime 2026-12-02T03:04:05Z\n"),
            5,
        ),
        (format!("{ORIGIN}\n5\n{root}\n\nextension\n"), 4),
    ];
    for (body, line) in bodies {
        // Signed by the right key, so only the format can be what is refused.
        let note = signer.sign_note(&body).unwrap_or_else(|_| with_body(&body));
        match signer.verifier().verify_checkpoint(&note) {
            Err(NoteError::Checkpoint { line: got, .. }) => assert_eq!(got, line, "{body:?}"),
            other => panic!("{body:?}: {other:?}"),
        }
    }
    let many = format!(
        "{good}{}",
        "— w.example/x AAAAAAAAAAAAAAAAAAAAAA==\n".repeat(32)
    );
    assert_eq!(SignedNote::parse(&many), Err(NoteError::TooManySignatures));
}

#[cfg(unix)]
#[test]
fn key_files_are_created_0600_never_overwritten_and_refused_when_readable() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.key");
    let signer = keys::generate_file(&path, ORIGIN).unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let loaded = keys::load_file(&path).unwrap();
    assert_eq!(loaded.verifier(), signer.verifier());
    assert!(matches!(
        keys::generate_file(&path, ORIGIN),
        Err(KeyError::Exists { .. })
    ));
    assert_eq!(
        keys::load_file(&path).unwrap().verifier(),
        signer.verifier()
    );

    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
    let err = keys::load_file(&path).unwrap_err();
    assert!(matches!(err, KeyError::Readable { mode: 0o640, .. }));
    assert!(
        err.to_string().contains(&path.display().to_string()),
        "{err}"
    );

    let missing = dir.path().join("missing.key");
    let err = keys::load_file(&missing).unwrap_err();
    assert!(err.to_string().contains("missing.key"), "{err}");
}

#[test]
fn keys_from_the_environment_name_the_variable_and_never_echo_the_key() {
    let (signer, text) = keys::generate(ORIGIN).unwrap();
    let var = "LEDGER_TEST_KEY_FROM_ENV";
    std::env::set_var(var, text.as_str());
    assert_eq!(keys::load_env(var).unwrap().verifier(), signer.verifier());

    let missing = "LEDGER_TEST_KEY_NOT_SET";
    std::env::remove_var(missing);
    let err = keys::load_env(missing).unwrap_err();
    assert!(err.to_string().contains(missing), "{err}");

    let broken_var = "LEDGER_TEST_KEY_BROKEN";
    // PRIVATE+KEY+<name>+<key id>+<base64 of the key>: the key is the fifth field. Its base64
    // may itself hold '+', so splitting at the last '+' took a random tail of it (once a single
    // letter, which the message held by chance).
    let secret_part = text.trim_end().splitn(5, '+').nth(4).unwrap().to_owned();
    assert!(secret_part.len() >= 40, "{secret_part}");
    let broken = text.replace("PRIVATE+KEY+", "PRIVATE+KEY+x");
    std::env::set_var(broken_var, &broken);
    let err = keys::load_env(broken_var).unwrap_err();
    let message = err.to_string();
    assert!(message.contains(broken_var), "{message}");
    assert!(!message.contains(&secret_part), "the key leaked: {message}");
    assert!(!format!("{signer:?}").contains(&secret_part));
}

#[test]
fn key_text_is_checked() {
    let (_, text) = keys::generate(ORIGIN).unwrap();
    for bad in [
        "",
        "PRIVATE+KEY+",
        &text.replace("PRIVATE+KEY+", "PUBLIC+KEY+"),
        &text.replace(ORIGIN, "other.example/log"),
        GO_VKEY,
    ] {
        assert!(
            matches!(keys::from_text(bad, "test"), Err(KeyError::Format { .. })),
            "{bad:?}"
        );
    }
    assert!(keys::generate("has space").is_err());
}
