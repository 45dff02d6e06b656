//! Every COS document against its expected text, and the ACL parser's property test.

use super::*;
use proptest::prelude::*;
use stsgate_store::{Acl, ObjectMeta, ObjectType, UploadInfo};
use time::macros::datetime;
use time::OffsetDateTime;

const PROLOG: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
const T0: OffsetDateTime = datetime!(2024-01-01 00:00:00 UTC);

#[track_caller]
fn check(actual: String, expected_body: &str) {
    assert_eq!(actual, format!("{PROLOG}{expected_body}"));
}

fn object(key: &str) -> ObjectInfo {
    ObjectInfo {
        bucket: "b-1".into(),
        key: key.into(),
        size: 5,
        etag: "\"5D41402ABC4B2A76B9719D911017C592\"".into(),
        last_modified: T0,
        crc64: 42,
        md5: None,
        object_type: ObjectType::Normal,
        meta: ObjectMeta::default(),
    }
}

#[test]
fn error_document_has_the_five_elements_python_needs() {
    check(
        error(
            "NoSuchKey",
            "m<",
            "b-1.cos.r.myqcloud.com/k",
            "R",
            "T",
            &[("X", "y".into())],
        ),
        "<Error><Code>NoSuchKey</Code><Message>m&lt;</Message>\
         <Resource>b-1.cos.r.myqcloud.com/k</Resource><RequestId>R</RequestId>\
         <TraceId>T</TraceId><X>y</X></Error>",
    );
}

#[test]
fn list_buckets_document() {
    let bucket = BucketInfo {
        name: "b-1".into(),
        created: T0,
        acl: Acl::Private,
        storage_class: "Standard".into(),
    };
    check(
        list_buckets("100", "ap-guangzhou", &[bucket]),
        "<ListAllMyBucketsResult><Owner><ID>qcs::cam::uin/100:uin/100</ID><DisplayName>100</DisplayName></Owner>\
         <Buckets><Bucket><Name>b-1</Name><Location>ap-guangzhou</Location>\
         <CreationDate>2024-01-01T00:00:00Z</CreationDate><BucketType>cos</BucketType></Bucket></Buckets>\
         </ListAllMyBucketsResult>",
    );
    check(
        list_buckets("100", "r", &[]),
        "<ListAllMyBucketsResult><Owner><ID>qcs::cam::uin/100:uin/100</ID><DisplayName>100</DisplayName></Owner>\
         <Buckets></Buckets></ListAllMyBucketsResult>",
    );
}

#[test]
fn list_objects_documents() {
    let listing = Listing {
        objects: vec![object("dir/a b+c.txt")],
        common_prefixes: vec!["dir/sub dir/".into()],
        is_truncated: true,
        next_marker: Some("dir/sub dir/".into()),
    };
    let params = ListParams {
        prefix: "dir/",
        delimiter: "/",
        marker: "",
        max_keys: 2,
        encoding_url: true,
    };
    check(
        list_objects("b-1", "1", &params, &listing),
        "<ListBucketResult><Name>b-1</Name><EncodingType>url</EncodingType><Prefix>dir%2F</Prefix>\
         <Marker></Marker><MaxKeys>2</MaxKeys><Delimiter>%2F</Delimiter><IsTruncated>true</IsTruncated>\
         <NextMarker>dir%2Fsub%20dir%2F</NextMarker><Contents><Key>dir%2Fa%20b%2Bc.txt</Key>\
         <LastModified>2024-01-01T00:00:00.000Z</LastModified>\
         <ETag>&quot;5d41402abc4b2a76b9719d911017c592&quot;</ETag><Size>5</Size>\
         <Owner><ID>1</ID><DisplayName>1</DisplayName></Owner><StorageClass>STANDARD</StorageClass>\
         </Contents><CommonPrefixes><Prefix>dir%2Fsub%20dir%2F</Prefix></CommonPrefixes></ListBucketResult>",
    );
    let plain = ListParams {
        encoding_url: false,
        delimiter: "",
        ..params
    };
    let empty = Listing {
        objects: vec![],
        common_prefixes: vec![],
        is_truncated: false,
        next_marker: None,
    };
    check(
        list_objects("b-1", "1", &plain, &empty),
        "<ListBucketResult><Name>b-1</Name><Prefix>dir/</Prefix><Marker></Marker><MaxKeys>2</MaxKeys>\
         <IsTruncated>false</IsTruncated></ListBucketResult>",
    );
}

#[test]
fn acl_documents_carry_the_grants_python_derives_canned_acls_from() {
    let group = "<Grant><Grantee xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:type=\"Group\">\
         <URI>http://cam.qcloud.com/groups/global/AllUsers</URI></Grantee>";
    let owner = "<Owner><ID>qcs::cam::uin/7:uin/7</ID><DisplayName>qcs::cam::uin/7:uin/7</DisplayName></Owner>\
         <AccessControlList><Grant><Grantee xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" \
         xsi:type=\"CanonicalUser\"><ID>qcs::cam::uin/7:uin/7</ID><DisplayName>qcs::cam::uin/7:uin/7</DisplayName>\
         </Grantee><Permission>FULL_CONTROL</Permission></Grant>";
    check(
        access_control_policy("7", true, true),
        &format!(
            "<AccessControlPolicy>{owner}{group}<Permission>READ</Permission></Grant>\
             {group}<Permission>WRITE</Permission></Grant></AccessControlList></AccessControlPolicy>"
        ),
    );
    check(
        access_control_policy("7", false, false),
        &format!("<AccessControlPolicy>{owner}</AccessControlList></AccessControlPolicy>"),
    );
    // What we render, we read back.
    let grants = parse_acl(access_control_policy("7", true, false).as_bytes()).unwrap();
    assert_eq!(grants.all_users, vec!["READ".to_string()]);
    assert_eq!(
        grants.users,
        vec![(
            "qcs::cam::uin/7:uin/7".to_string(),
            "FULL_CONTROL".to_string()
        )]
    );
}

#[test]
fn acl_bodies_as_the_sdks_send_them() {
    // cos-python-sdk-v5 (xsi attributes) and cos-nodejs-sdk-v5 (none).
    let python = "<AccessControlPolicy><Owner><ID>qcs::cam::uin/7:uin/7</ID></Owner><AccessControlList>\
        <Grant><Grantee xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:type=\"CanonicalUser\">\
        <ID>qcs::cam::uin/7:uin/7</ID></Grantee><Permission>FULL_CONTROL</Permission></Grant>\
        </AccessControlList></AccessControlPolicy>";
    let grants = parse_acl(python.as_bytes()).unwrap();
    assert!(grants.all_users.is_empty() && grants.other_groups.is_empty());
    assert_eq!(grants.users.len(), 1);
    let node = "<AccessControlPolicy><Owner><ID/></Owner><AccessControlList><Grant><Grantee>\
        <URI>http://cam.qcloud.com/groups/global/AllUsers</URI></Grantee><Permission>READ</Permission>\
        </Grant></AccessControlList></AccessControlPolicy>";
    assert_eq!(
        parse_acl(node.as_bytes()).unwrap().all_users,
        vec!["READ".to_string()]
    );
    let anyone = node.replace(
        "<URI>http://cam.qcloud.com/groups/global/AllUsers</URI>",
        "<ID>qcs::cam::anyone:anyone</ID>",
    );
    let grants = parse_acl(anyone.as_bytes()).unwrap();
    assert_eq!(grants.all_users, vec!["READ".to_string()]);
    for (body, part) in [
        ("<AccessControlPolicy/>", "without AccessControlList"),
        ("<AccessControlPolicy><AccessControlList><Grant><Grantee/><Permission>READ</Permission></Grant></AccessControlList></AccessControlPolicy>", "exactly one"),
        ("<AccessControlPolicy><AccessControlList><Grant><Grantee><ID>x</ID></Grantee><Permission>ALL</Permission></Grant></AccessControlList></AccessControlPolicy>", "unknown Permission"),
        ("<Other/>", "expected root"),
    ] {
        let e = parse_acl(body.as_bytes()).unwrap_err();
        assert!(e.0.contains(part), "{body}: {e}");
    }
}

#[test]
fn multipart_and_copy_documents() {
    check(
        initiate_multipart("b-1", "k&", "U"),
        "<InitiateMultipartUploadResult><Bucket>b-1</Bucket><Key>k&amp;</Key><UploadId>U</UploadId>\
         </InitiateMultipartUploadResult>",
    );
    check(
        complete_multipart("b-1.cos.r.myqcloud.com/k", "b-1", "k", "\"ABC-2\""),
        "<CompleteMultipartUploadResult><Location>b-1.cos.r.myqcloud.com/k</Location><Bucket>b-1</Bucket>\
         <Key>k</Key><ETag>&quot;abc-2&quot;</ETag></CompleteMultipartUploadResult>",
    );
    check(
        copy_object_result(&object("k")),
        "<CopyObjectResult><ETag>&quot;5d41402abc4b2a76b9719d911017c592&quot;</ETag><CRC64>42</CRC64>\
         <LastModified>2024-01-01T00:00:00.000Z</LastModified></CopyObjectResult>",
    );
    let part = PartInfo {
        part_number: 3,
        etag: "\"AB\"".into(),
        size: 9,
        crc64: 1,
        last_modified: T0,
    };
    let page = PartsPage {
        bucket: "b-1",
        key: "k",
        upload_id: "U",
        marker: 2,
        max: 1,
        encoding_url: false,
    };
    let who = "<ID>qcs::cam::uin/7:uin/7</ID><DisplayName>qcs::cam::uin/7:uin/7</DisplayName>";
    check(
        list_parts(&page, "7", &[part], true),
        &format!(
            "<ListPartsResult><Bucket>b-1</Bucket><Key>k</Key><UploadId>U</UploadId>\
             <Initiator>{who}</Initiator><Owner>{who}</Owner><PartNumberMarker>2</PartNumberMarker>\
             <Part><PartNumber>3</PartNumber><LastModified>2024-01-01T00:00:00.000Z</LastModified>\
             <ETag>&quot;ab&quot;</ETag><Size>9</Size></Part><NextPartNumberMarker>3</NextPartNumberMarker>\
             <StorageClass>STANDARD</StorageClass><MaxParts>1</MaxParts><IsTruncated>true</IsTruncated>\
             </ListPartsResult>"
        ),
    );
    let upload = UploadInfo {
        key: "a b".into(),
        upload_id: "U".into(),
        initiated: T0,
    };
    let page = UploadsPage {
        bucket: "b-1",
        prefix: "a",
        delimiter: "",
        key_marker: "",
        upload_id_marker: "",
        max: 1000,
        encoding_url: true,
    };
    let listing = UploadListing {
        uploads: vec![upload],
        next_key_marker: "a b".into(),
        next_upload_id_marker: "U".into(),
        ..UploadListing::default()
    };
    check(
        list_multipart_uploads(&page, "7", &listing),
        &format!(
            "<ListMultipartUploadsResult><Bucket>b-1</Bucket><EncodingType>url</EncodingType>\
             <KeyMarker></KeyMarker><UploadIdMarker></UploadIdMarker><NextKeyMarker>a%20b</NextKeyMarker>\
             <NextUploadIdMarker>U</NextUploadIdMarker><MaxUploads>1000</MaxUploads>\
             <IsTruncated>false</IsTruncated><Prefix>a</Prefix><Upload><Key>a%20b</Key><UploadId>U</UploadId>\
             <StorageClass>STANDARD</StorageClass><Initiator>{who}</Initiator><Owner>{who}</Owner>\
             <Initiated>2024-01-01T00:00:00.000Z</Initiated></Upload></ListMultipartUploadsResult>"
        ),
    );
}

#[test]
fn small_documents() {
    check(
        location("ap-guangzhou"),
        "<LocationConstraint>ap-guangzhou</LocationConstraint>",
    );
    check(delete_result(&[], false), "<DeleteResult></DeleteResult>");
    check(
        delete_result(&["a b".into()], true),
        "<DeleteResult><EncodingType>url</EncodingType><Deleted><Key>a%20b</Key></Deleted></DeleteResult>",
    );
    check(
        post_response("http://b-1.cos.r.myqcloud.com/k", "b-1", "k", "\"E\""),
        "<PostResponse><Location>http://b-1.cos.r.myqcloud.com/k</Location><Bucket>b-1</Bucket>\
         <Key>k</Key><ETag>&quot;e&quot;</ETag></PostResponse>",
    );
    assert_eq!(storage_class(None), "STANDARD");
    assert_eq!(storage_class(Some("IA")), "STANDARD_IA");
    assert_eq!(storage_class(Some("odd")), "STANDARD");
}

#[test]
fn lifecycle_round_trips_in_cos_words() {
    let body = br#"<LifecycleConfiguration><Rule><ID>logs</ID><Filter><And><Prefix>logs/</Prefix><Tag><Key>k</Key><Value>v</Value></Tag></And></Filter><Status>Enabled</Status><Transition><Days>30</Days><StorageClass>STANDARD_IA</StorageClass></Transition><Expiration><Date>2030-01-01T00:00:00+08:00</Date></Expiration></Rule><Rule><Filter><Prefix>tmp/</Prefix></Filter><Status>Disabled</Status><AbortIncompleteMultipartUpload><DaysAfterInitiation>7</DaysAfterInitiation></AbortIncompleteMultipartUpload></Rule></LifecycleConfiguration>"#;
    let rules = parse_lifecycle(body).unwrap();
    assert_eq!(rules.len(), 2);
    assert_eq!(
        (rules[0].prefix.as_str(), &rules[0].tags[..]),
        ("logs/", &[("k".to_string(), "v".to_string())][..])
    );
    assert_eq!(
        rules[0].transitions,
        [(stsgate_store::When::Days(30), "IA".to_string())]
    );
    assert_eq!(
        rules[0].expiration,
        Some(stsgate_store::When::Date(1_893_427_200))
    );
    assert_eq!((rules[1].id.as_str(), rules[1].enabled), ("rule-2", false));
    assert_eq!(rules[1].abort_multipart, Some(stsgate_store::When::Days(7)));
    assert_eq!(parse_lifecycle(lifecycle(&rules).as_bytes()), Ok(rules));
    for (bad, want) in [
        ("<LifecycleConfiguration/>", "no Rule"),
        ("<LifecycleConfiguration><Rule><Status>Enabled</Status></Rule></LifecycleConfiguration>", "no action"),
        ("<LifecycleConfiguration><Rule><Status>Enabled</Status><Expiration><Days>0</Days></Expiration></Rule></LifecycleConfiguration>", "positive"),
        ("<LifecycleConfiguration><Rule><Status>Enabled</Status><Transition><Days>1</Days><StorageClass>GLACIER</StorageClass></Transition></Rule></LifecycleConfiguration>", "STANDARD_IA"),
    ] {
        let got = format!("{:?}", parse_lifecycle(bad.as_bytes()).unwrap_err());
        assert!(got.contains(want), "{bad}: {got}");
    }
    assert!(matches!(
        parse_lifecycle(b"<LifecycleConfiguration><Rule><Status>Enabled</Status><NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays></NoncurrentVersionExpiration></Rule></LifecycleConfiguration>"),
        Err(LifecycleError::NotImplemented(_))
    ));
    assert_eq!(
        parse_encryption_configuration(encryption_configuration("AES256").as_bytes()),
        Ok(("AES256".to_string(), false))
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]
    #[test]
    fn acl_parser_never_panics_on_bytes(body in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = parse_acl(&body);
    }

    #[test]
    fn lifecycle_and_encryption_parsers_never_panic(body in r#"(<[/]?(LifecycleConfiguration|Rule|ID|Filter|And|Prefix|Tag|Key|Value|Status|Expiration|Days|Date|Transition|StorageClass|AbortIncompleteMultipartUpload|DaysAfterInitiation|ServerSideEncryptionConfiguration|ApplyServerSideEncryptionByDefault|SSEAlgorithm|KMSMasterKeyID)>|Enabled|Disabled|STANDARD_IA|ARCHIVE|AES256|KMS|2030-01-01T00:00:00\+08:00|[0-9]{1,3}|[ a-z/-]){0,60}"#) {
        if let Ok(rules) = parse_lifecycle(body.as_bytes()) {
            prop_assert!(!rules.is_empty());
            // What GET renders parses back to the same rules.
            prop_assert_eq!(parse_lifecycle(lifecycle(&rules).as_bytes()), Ok(rules));
        }
        let _ = parse_encryption_configuration(body.as_bytes());
    }

    #[test]
    fn acl_parser_never_panics_on_xmlish(body in r#"(<[/!?]?(AccessControlPolicy|Owner|ID|AccessControlList|Grant|Grantee|URI|Permission|x:y)( xsi:type="[A-Za-z]{0,8}")?/?>|[ a-zA-Z0-9:/._&;<>-]|READ|WRITE|FULL_CONTROL|http://cam.qcloud.com/groups/global/AllUsers){0,40}"#) {
        let _ = parse_acl(body.as_bytes());
    }
}
