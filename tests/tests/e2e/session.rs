//! Sessions against a real server: refresh token reuse (theft detection) ends the session and
//! wipes the account's local data; logout revokes on the server and wipes locally; one refresh
//! serves concurrent calls; two accounts side by side.

use kidplan_api::auth::{RefreshRequest, Session};
use kidplan_api::paths;
use kidplan_core::secrets::keys;
use kidplan_core::{KidplanError, PhotoSize, SecretStore};
use kidplan_tests::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_token_reuse_expires_the_session_and_wipes_local_data() -> anyhow::Result<()> {
    let (dev, server, kp) = Device::start(fast_tuning()).await?;
    let cdir = &dev.dir;
    let secrets = dev.secrets.clone();
    let account = dev.account.clone();
    assert!(!kp.children()?.is_empty());
    let acc_dir = kidplan_core::store::account_dir(cdir.path(), account.id.as_str());
    assert!(acc_dir.exists());

    // A thief uses the device's refresh token first.
    let stolen = secrets
        .get(keys::refresh_token(account.id.as_str()))?
        .ok_or_else(|| anyhow::anyhow!("no token"))?;
    let thief: Session = reqwest::Client::new()
        .post(format!("{}{}", server.base_url(), paths::AUTH_REFRESH))
        .json(&RefreshRequest {
            refresh_token: stolen,
        })
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    assert!(!thief.access_token.is_empty());

    // The device's access token expires; its next call refreshes with the reused token.
    drop(kp);
    secrets.delete(keys::access_token(account.id.as_str()))?;
    let kp = open_core(
        cdir.path(),
        &server.base_url(),
        secrets.clone(),
        fast_tuning(),
    )?;
    assert_eq!(kp.sync().await.err(), Some(KidplanError::SessionExpired));

    assert!(kp.accounts().is_empty());
    assert_eq!(kp.active_account(), None);
    assert!(kp.children()?.is_empty());
    assert!(!acc_dir.exists(), "account directory still there");
    assert!(
        secrets
            .keys()
            .iter()
            .all(|k| !k.contains(account.id.as_str())),
        "{:?}",
        secrets.keys()
    );
    // The session is revoked for the thief too.
    let r = reqwest::Client::new()
        .get(format!("{}{}?cursor=0", server.base_url(), paths::SYNC))
        .bearer_auth(&thief.access_token)
        .send()
        .await?;
    assert_eq!(r.status().as_u16(), 401);
    server.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_calls_share_one_refresh() -> anyhow::Result<()> {
    let (dev, server, kp) = Device::start(fast_tuning()).await?;
    let cdir = &dev.dir;
    let secrets = dev.secrets.clone();
    let account = dev.account.clone();
    let photos = kp.photos()?;
    let docs = kp.documents()?;
    // Force a refresh on the next calls: a fresh core without an access token.
    drop(kp);
    secrets.delete(keys::access_token(account.id.as_str()))?;
    let kp = open_core(
        cdir.path(),
        &server.base_url(),
        secrets.clone(),
        fast_tuning(),
    )?;
    let mut calls = Vec::new();
    for p in photos.iter().take(4) {
        calls.push(futures::future::Either::Left(
            kp.photo(p.id.clone(), PhotoSize::Thumb),
        ));
    }
    for d in docs.iter().take(2) {
        calls.push(futures::future::Either::Right(kp.document(d.id.clone())));
    }
    assert!(calls.len() >= 2, "demo data has too few files");
    let sync = kp.sync();
    let (results, synced) = futures::future::join(futures::future::join_all(calls), sync).await;
    // Two refreshes with the same token would have revoked the session.
    synced?;
    for r in results {
        let path = r?;
        assert!(std::path::Path::new(&path).exists());
    }
    assert_eq!(kp.accounts().len(), 1);
    server.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_revokes_and_wipes_and_accounts_switch() -> anyhow::Result<()> {
    let (dev, server, kp) = Device::start(fast_tuning()).await?;
    let cdir = &dev.dir;
    let secrets = dev.secrets.clone();
    let first = dev.account.clone();
    let first_children = kp.children()?;
    let second = login(&kp, &server, demo::SECOND_GUARDIAN_EMAIL).await?;
    assert_ne!(first.id, second.id);
    assert_eq!(kp.active_account().map(|a| a.id), Some(second.id.clone()));
    assert!(
        kp.children()?.is_empty(),
        "a new account starts with an empty cache"
    );
    kp.sync().await?;
    kp.switch_account(first.id.clone())?;
    assert_eq!(kp.children()?, first_children);

    let refresh = secrets
        .get(keys::refresh_token(first.id.as_str()))?
        .ok_or_else(|| anyhow::anyhow!("no token"))?;
    kp.logout().await?;
    assert_eq!(
        kp.accounts().into_iter().map(|a| a.id).collect::<Vec<_>>(),
        vec![second.id.clone()]
    );
    assert!(!kidplan_core::store::account_dir(cdir.path(), first.id.as_str()).exists());
    // The server no longer accepts the logged-out session's refresh token.
    let r = reqwest::Client::new()
        .post(format!("{}{}", server.base_url(), paths::AUTH_REFRESH))
        .json(&RefreshRequest {
            refresh_token: refresh,
        })
        .send()
        .await?;
    assert_eq!(r.status().as_u16(), 401);
    kp.wipe_local_data()?;
    assert!(kp.accounts().is_empty());
    assert!(secrets.keys().is_empty(), "{:?}", secrets.keys());
    server.stop().await;
    Ok(())
}
