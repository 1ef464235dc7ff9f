//! Training against a real store in a temp dir: lessons and their undo,
//! repeats, ageing to the byte cap, the trainer draining the journal that
//! IMAP-shaped store calls wrote, and the cached read side.

use postern_store::{Mailbox, NewMessage, NewUser, SenderRecord, StoreOptions, Uid};

use super::*;
use crate::classifier::Counts;
use crate::training::Classifiers;
use crate::training::trainer::drain_once;

const SPAM: &[u8] = b"From: Pills <deals@spam.example>\r\nSubject: cheap pills\r\n\r\n\
buy cheap pills online now discount pharmacy\r\n";
const HAM: &[u8] = b"From: ann@example.org\r\nSubject: build failure\r\n\r\n\
the nightly build failed in the parser tests again\r\n";

struct Fixture {
    _dir: tempfile::TempDir,
    store: Store,
    user: UserId,
    config: TrainingConfig,
}

/// A store with one user; models of 4096 buckets to keep tests small.
async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(
        dir.path(),
        StoreOptions {
            blob_grace: std::time::Duration::ZERO,
            ..StoreOptions::default()
        },
    )
    .expect("open");
    store.domain_add("example.org").await.expect("domain");
    let user = store
        .user_add(NewUser {
            address: "bob@example.org".into(),
            display_name: String::new(),
            password_hash: "$argon2id$placeholder".into(),
            quota_bytes: None,
            quota_messages: None,
        })
        .await
        .expect("user");
    let config = TrainingConfig {
        table_size: 4096,
        ..TrainingConfig::default()
    };
    Fixture {
        _dir: dir,
        store,
        user,
        config,
    }
}

impl Fixture {
    fn lesson(&self, raw: &[u8], want: Want) -> Lesson {
        Lesson::new(
            self.user,
            BlobId::of(raw),
            raw,
            want,
            &self.config.classifier_options(),
            &ReadLimits::default(),
        )
    }

    async fn learn(&self, raw: &[u8], want: Want) -> Learned {
        learn(&self.store, &self.config, &[self.lesson(raw, want)], &[])
            .await
            .expect("learn")
    }

    /// The user's and the global model as stored.
    async fn models(&self) -> (Option<Model>, Option<Model>) {
        let reads = self
            .store
            .spam_models(vec![
                (ModelOwner::User(self.user), None),
                (ModelOwner::Global, None),
            ])
            .await
            .expect("read");
        let decode = |r: &ModelRead| match r {
            ModelRead::Found(m) => Some(Model::from_bytes(&m.bytes, 1 << 20).expect("decodes")),
            _ => None,
        };
        (decode(&reads[0]), decode(&reads[1]))
    }

    async fn mailbox(&self, name: &str) -> Mailbox {
        self.store
            .mailbox_get(self.user, name)
            .await
            .expect("get")
            .expect(name)
    }

    async fn drain(&self) -> usize {
        drain_once(&self.store, &self.config, &ReadLimits::default())
            .await
            .expect("drain")
            .0
    }
}

#[tokio::test]
async fn spam_then_ham_leaves_the_spam_counts_as_before_and_ham_plus_one() {
    let f = fixture().await;
    f.learn(SPAM, Want::Train(Class::Spam)).await;
    let learned = f.learn(SPAM, Want::Train(Class::Ham)).await;
    assert_eq!(
        learned,
        Learned {
            trained: 1,
            untrained: 1
        }
    );
    let (user, global) = f.models().await;
    let (user, global) = (user.expect("user model"), global.expect("global model"));
    assert_eq!((user.trained(), global.trained()), ((0, 1), (0, 1)));
    let mut only_ham = f.config.new_model();
    only_ham.train(
        &f.lesson(SPAM, Want::Train(Class::Ham)).features,
        Class::Ham,
    );
    assert_eq!(user, only_ham, "the spam training was taken back exactly");
}

#[tokio::test]
async fn a_repeated_lesson_counts_once_and_forget_only_takes_back_its_class() {
    let f = fixture().await;
    f.learn(SPAM, Want::Train(Class::Spam)).await;
    assert_eq!(
        f.learn(SPAM, Want::Train(Class::Spam)).await,
        Learned::default()
    );
    assert_eq!(
        f.learn(SPAM, Want::Forget(Class::Ham)).await,
        Learned::default()
    );
    assert_eq!(f.models().await.0.expect("model").trained(), (1, 0));
    let forgot = f.learn(SPAM, Want::Forget(Class::Spam)).await;
    assert_eq!(
        forgot,
        Learned {
            trained: 0,
            untrained: 1
        }
    );
    let (user, _) = f.models().await;
    assert_eq!(user.expect("model"), f.config.new_model(), "back to empty");
    assert_eq!(
        f.store
            .trained_as(vec![(f.user, BlobId::of(SPAM))])
            .await
            .expect("state"),
        [None]
    );
}

#[tokio::test]
async fn a_model_over_its_byte_cap_is_aged_until_it_fits() {
    let mut f = fixture().await;
    f.config.max_model_bytes = 200;
    for i in 0..30 {
        let raw = format!(
            "From: x{i}@spam.example\r\nSubject: offer {i}\r\n\r\nword{i} other{i} more{i} text{i}\r\n"
        );
        f.learn(raw.as_bytes(), Want::Train(Class::Spam)).await;
    }
    let reads = f
        .store
        .spam_models(vec![(ModelOwner::User(f.user), None)])
        .await
        .expect("read");
    match &reads[0] {
        ModelRead::Found(m) => assert!(m.bytes.len() <= 200, "{} bytes", m.bytes.len()),
        other => panic!("expected a model, got {other:?}"),
    }
}

/// Appends `raw` to INBOX; its UID.
async fn append(f: &Fixture, raw: &[u8]) -> Uid {
    let inbox = f.mailbox("INBOX").await;
    f.store
        .append(
            f.user,
            inbox.id,
            NewMessage {
                raw: raw.to_vec(),
                ..NewMessage::default()
            },
        )
        .await
        .expect("append")
        .uid
}

#[tokio::test]
async fn the_trainer_learns_a_move_into_junk_and_untrains_it_on_the_way_back() {
    let f = fixture().await;
    let (inbox, junk) = (f.mailbox("INBOX").await, f.mailbox("Junk").await);
    let uid = append(&f, SPAM).await;
    let (c, _) = f
        .store
        .move_messages(f.user, inbox.id, vec![uid], junk.id)
        .await
        .expect("move in");
    assert_eq!(f.drain().await, 1);
    assert_eq!(f.models().await.0.expect("model").trained(), (1, 0));
    let spammer = f
        .store
        .sender_record(f.user, "deals@spam.example")
        .await
        .expect("rep");
    assert_eq!(
        spammer,
        Some(SenderRecord {
            sent: 0,
            ham: 0,
            spam: 1
        })
    );
    f.store
        .move_messages(f.user, junk.id, vec![c.pairs[0].1], inbox.id)
        .await
        .expect("move out");
    assert_eq!(f.drain().await, 1);
    let (user, global) = f.models().await;
    assert_eq!(user.expect("model").trained(), (0, 1));
    assert_eq!(global.expect("global").trained(), (0, 1));
    let spammer = f
        .store
        .sender_record(f.user, "deals@spam.example")
        .await
        .expect("rep");
    assert_eq!(
        spammer,
        Some(SenderRecord {
            sent: 0,
            ham: 1,
            spam: 0
        })
    );
    assert_eq!(f.drain().await, 0, "the journal is empty");
}

#[tokio::test]
async fn the_cached_models_follow_new_versions_and_reputation_has_a_sign() {
    let f = fixture().await;
    let classifiers = Classifiers::new(f.store.clone(), f.config.clone());
    let (user, global) = classifiers.models(f.user).await.expect("models");
    assert!(user.is_none());
    assert_eq!(global.trained(), (0, 0));
    f.learn(SPAM, Want::Train(Class::Spam)).await;
    let (user, _) = classifiers.models(f.user).await.expect("models");
    assert_eq!(user.expect("trained now").trained(), (1, 0));
    f.learn(HAM, Want::Train(Class::Ham)).await;
    let (user, global) = classifiers.models(f.user).await.expect("models");
    assert_eq!(
        (user.expect("model").trained(), global.trained()),
        ((1, 1), (1, 1))
    );

    let rep = |a: &'static str| classifiers.reputation(f.user, a);
    assert!(rep("stranger@example.net").await.expect("rep").is_none());
    let bad = rep("DEALS@spam.example")
        .await
        .expect("rep")
        .expect("known");
    assert_eq!(
        (bad.test.as_str(), bad.score),
        (SENDER_REPUTATION_NAME, f.config.known_bad_weight)
    );
    crate::training::record_sent(&f.store, f.user, &["Carol@Example.NET".into()], &f.config)
        .await
        .expect("sent");
    let good = rep("carol@example.net").await.expect("rep").expect("known");
    assert!(good.score < 0.0, "{good:?}");
}

const SENDER_REPUTATION_NAME: &str = crate::training::SENDER_REPUTATION;

#[tokio::test]
async fn two_writers_at_once_both_count_through_compare_and_swap() {
    let f = fixture().await;
    let (a, b) = (
        f.lesson(SPAM, Want::Train(Class::Spam)),
        f.lesson(HAM, Want::Train(Class::Ham)),
    );
    // Both read the empty models before either commits; the second commit
    // finds a newer version, reads again and applies on top.
    let (ra, rb) = tokio::join!(
        learn(&f.store, &f.config, std::slice::from_ref(&a), &[]),
        learn(&f.store, &f.config, std::slice::from_ref(&b), &[]),
    );
    ra.expect("first writer");
    rb.expect("second writer");
    let (user, global) = f.models().await;
    assert_eq!(user.expect("model").trained(), (1, 1));
    assert_eq!(global.expect("global").trained(), (1, 1));
}

#[tokio::test]
async fn a_cache_of_one_user_still_answers_each_user_with_their_own_model() {
    let mut f = fixture().await;
    f.config.cache_users = 1;
    let carol = f
        .store
        .user_add(NewUser {
            address: "carol@example.org".into(),
            display_name: String::new(),
            password_hash: "$argon2id$placeholder".into(),
            quota_bytes: None,
            quota_messages: None,
        })
        .await
        .expect("user");
    f.learn(SPAM, Want::Train(Class::Spam)).await;
    let mut for_carol = f.lesson(HAM, Want::Train(Class::Ham));
    for_carol.user = carol;
    learn(&f.store, &f.config, &[for_carol], &[])
        .await
        .expect("learn");
    let classifiers = Classifiers::new(f.store.clone(), f.config.clone());
    for _ in 0..2 {
        let (bob, _) = classifiers.models(f.user).await.expect("bob");
        let (carol, global) = classifiers.models(carol).await.expect("carol");
        assert_eq!(bob.expect("bob's").trained(), (1, 0));
        assert_eq!(carol.expect("carol's").trained(), (0, 1));
        assert_eq!(global.trained(), (1, 1));
    }
}
