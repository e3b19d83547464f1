//! Thing and thing-group operations: creating, describing and deleting things and groups,
//! membership changes (which add targets to CONTINUOUS jobs or remove them) and the
//! listings that show membership. Only what job targeting needs: no thing types, billing
//! groups, dynamic groups or indexing.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use crate::engine::Engine;
use crate::error::ApiError;
use crate::fleet::Fleet;
use crate::model::{epoch_secs, Scope, Thing, ThingGroup};
use crate::request::{decode_token, encode_token, Req};
use crate::validate::{self, check_str, Obj};

/// AWS lets a thing belong to at most 10 thing groups.
const MAX_GROUPS_PER_THING: usize = 10;
/// `RegistryMaxResults` has no documented default; the emulator answers pages of 50.
const DEFAULT_PAGE: i64 = 50;

fn name_label<'a>(req: &'a Req<'_>, member: &str) -> Result<&'a str, ApiError> {
    let name = req.label(0);
    check_str(member, name, &validate::THING_NAME)?;
    Ok(name)
}

fn attributes(o: &Obj<'_>) -> Result<Option<BTreeMap<String, String>>, ApiError> {
    match o.obj("attributePayload")? {
        None => Ok(None),
        Some(p) => {
            p.bool("merge")?;
            p.str_map("attributes", &validate::ATTR_NAME, &validate::ATTR_VALUE)
        }
    }
}

pub fn create_thing(scope: &mut Scope, req: &Req<'_>) -> Result<Value, ApiError> {
    let name = name_label(req, "thingName")?;
    let body = req.json()?;
    let o = Obj::root(&body)?;
    let thing_type_name = o.str("thingTypeName", &validate::THING_NAME)?;
    let billing_group_name = o.str("billingGroupName", &validate::THING_NAME)?;
    let attrs = attributes(&o)?.unwrap_or_default();
    if let Some(t) = scope.things.get(name) {
        // CreateThing is idempotent for an identical request, a conflict otherwise.
        if t.thing_type_name == thing_type_name
            && t.billing_group_name == billing_group_name
            && t.attributes == attrs
        {
            return Ok(
                json!({"thingName": t.thing_name, "thingArn": t.thing_arn, "thingId": t.thing_id}),
            );
        }
        return Err(ApiError::already_exists(
            format!("Thing {name} already exists in account with different attributes"),
            &t.thing_id,
            &t.thing_arn,
        ));
    }
    let thing = Thing {
        thing_name: name.to_owned(),
        thing_arn: scope.arn(&format!("thing/{name}")),
        thing_id: scope.new_uuid(),
        thing_type_name,
        billing_group_name,
        attributes: attrs,
        version: 1,
        simulated: false,
    };
    let reply = json!({"thingName": thing.thing_name, "thingArn": thing.thing_arn, "thingId": thing.thing_id});
    scope.things.insert(name.to_owned(), thing);
    Ok(reply)
}

pub fn describe_thing(scope: &mut Scope, req: &Req<'_>) -> Result<Value, ApiError> {
    let name = name_label(req, "thingName")?;
    let t = scope
        .things
        .get(name)
        .ok_or_else(|| ApiError::not_found(format!("Thing {name} cannot be found.")))?;
    let mut m = Map::new();
    m.insert("defaultClientId".into(), t.thing_name.clone().into());
    m.insert("thingName".into(), t.thing_name.clone().into());
    m.insert("thingId".into(), t.thing_id.clone().into());
    m.insert("thingArn".into(), t.thing_arn.clone().into());
    if let Some(tt) = &t.thing_type_name {
        m.insert("thingTypeName".into(), tt.clone().into());
    }
    m.insert("attributes".into(), json!(t.attributes));
    m.insert("version".into(), t.version.into());
    if let Some(b) = &t.billing_group_name {
        m.insert("billingGroupName".into(), b.clone().into());
    }
    Ok(Value::Object(m))
}

pub fn create_group(scope: &mut Scope, req: &Req<'_>) -> Result<Value, ApiError> {
    let name = name_label(req, "thingGroupName")?;
    let body = req.json()?;
    let o = Obj::root(&body)?;
    let parent = o.str("parentGroupName", &validate::THING_GROUP_NAME)?;
    let (description, attrs) = match o.obj("thingGroupProperties")? {
        None => (None, BTreeMap::new()),
        Some(p) => (
            p.str("thingGroupDescription", &validate::GROUP_DESCRIPTION)?,
            attributes(&p)?.unwrap_or_default(),
        ),
    };
    let tags = match o.list("tags", 0, usize::MAX)? {
        Some(items) => validate::tags(items)?,
        None => Vec::new(),
    };
    if let Some(g) = scope.groups.get(name) {
        if g.parent_group_name == parent && g.description == description && g.attributes == attrs {
            return Ok(
                json!({"thingGroupName": g.thing_group_name, "thingGroupArn": g.thing_group_arn, "thingGroupId": g.thing_group_id}),
            );
        }
        return Err(ApiError::already_exists(
            format!("Thing group {name} already exists with different properties"),
            &g.thing_group_id,
            &g.thing_group_arn,
        ));
    }
    if let Some(p) = &parent {
        if !scope.groups.contains_key(p) {
            // CreateThingGroup does not model ResourceNotFoundException.
            return Err(ApiError::invalid(format!(
                "Parent thing group {p} does not exist."
            )));
        }
    }
    let group = ThingGroup {
        thing_group_name: name.to_owned(),
        thing_group_arn: scope.arn(&format!("thinggroup/{name}")),
        thing_group_id: scope.new_uuid(),
        parent_group_name: parent,
        description,
        attributes: attrs,
        created_at_ms: req.now,
        version: 1,
        members: Default::default(),
    };
    let reply = json!({"thingGroupName": group.thing_group_name, "thingGroupArn": group.thing_group_arn, "thingGroupId": group.thing_group_id});
    if !tags.is_empty() {
        scope.set_tags(&group.thing_group_arn, tags, req.now);
    }
    scope.groups.insert(name.to_owned(), group);
    Ok(reply)
}

pub fn describe_group(scope: &mut Scope, req: &Req<'_>) -> Result<Value, ApiError> {
    let name = name_label(req, "thingGroupName")?;
    let g = scope
        .groups
        .get(name)
        .ok_or_else(|| ApiError::not_found(format!("Thing group {name} cannot be found.")))?;
    // Ancestors from the root down, as rootToParentThingGroups lists them.
    let mut chain = Vec::new();
    let mut cur = g.parent_group_name.clone();
    while let Some(p) = cur {
        let Some(pg) = scope.groups.get(&p) else {
            break;
        };
        if chain.iter().any(|(n, _): &(String, String)| n == &p) {
            break;
        }
        chain.push((p.clone(), pg.thing_group_arn.clone()));
        cur = pg.parent_group_name.clone();
    }
    chain.reverse();
    let mut props = Map::new();
    if let Some(d) = &g.description {
        props.insert("thingGroupDescription".into(), d.clone().into());
    }
    props.insert(
        "attributePayload".into(),
        json!({"attributes": g.attributes}),
    );
    let mut meta = Map::new();
    if let Some(p) = &g.parent_group_name {
        meta.insert("parentGroupName".into(), p.clone().into());
    }
    meta.insert(
        "rootToParentThingGroups".into(),
        chain
            .into_iter()
            .map(|(n, a)| json!({"groupName": n, "groupArn": a}))
            .collect(),
    );
    meta.insert("creationDate".into(), epoch_secs(g.created_at_ms).into());
    Ok(json!({
        "thingGroupName": g.thing_group_name,
        "thingGroupId": g.thing_group_id,
        "thingGroupArn": g.thing_group_arn,
        "version": g.version,
        "thingGroupProperties": Value::Object(props),
        "thingGroupMetadata": Value::Object(meta),
    }))
}

/// Resolves a resource given by name or ARN (either member may be used, as in the model).
fn by_name_or_arn(
    o: &Obj<'_>,
    name_key: &str,
    arn_key: &str,
    kind: &str,
) -> Result<String, ApiError> {
    if let Some(n) = o.str(name_key, &validate::THING_NAME)? {
        return Ok(n);
    }
    if let Some(arn) = o.str(arn_key, &validate::ANY)? {
        let marker = format!(":{kind}/");
        return arn
            .rsplit_once(&marker)
            .map(|(_, n)| n.to_owned())
            .ok_or_else(|| ApiError::invalid(format!("{arn_key} is not a {kind} ARN")));
    }
    Err(ApiError::invalid(format!(
        "One of {name_key} or {arn_key} is required"
    )))
}

pub fn add_thing_to_group(scope: &mut Scope, req: &Req<'_>) -> Result<(), ApiError> {
    let body = req.json()?;
    let o = Obj::root(&body)?;
    let group = by_name_or_arn(&o, "thingGroupName", "thingGroupArn", "thinggroup")?;
    let thing = by_name_or_arn(&o, "thingName", "thingArn", "thing")?;
    o.bool("overrideDynamicGroups")?;
    existing(scope, &thing, std::slice::from_ref(&group))?;
    join(scope, req, &thing, &group)
}

/// Fails with ResourceNotFoundException unless the thing and every group exist.
fn existing(scope: &Scope, thing: &str, groups: &[String]) -> Result<(), ApiError> {
    if !scope.things.contains_key(thing) {
        return Err(ApiError::not_found(format!(
            "Thing {thing} cannot be found."
        )));
    }
    groups.iter().try_for_each(|g| existing_group(scope, g))
}

/// Puts a thing into a group (both exist); CONTINUOUS jobs that now reach it pick it up.
fn join(scope: &mut Scope, req: &Req<'_>, thing: &str, group: &str) -> Result<(), ApiError> {
    let already = scope
        .groups
        .get(group)
        .is_some_and(|g| g.members.contains(thing));
    if already {
        return Ok(());
    }
    let count = scope
        .groups
        .values()
        .filter(|g| g.members.contains(thing))
        .count();
    if count >= MAX_GROUPS_PER_THING {
        return Err(ApiError::invalid(format!(
            "Thing {thing} already belongs to {MAX_GROUPS_PER_THING} thing groups."
        )));
    }
    if let Some(g) = scope.groups.get_mut(group) {
        g.members.insert(thing.to_owned());
    }
    Engine::new(scope, req.fleet).thing_joined(thing, req.now);
    Ok(())
}

/// Takes a thing out of a group (both exist); CONTINUOUS jobs that no longer reach it
/// mark its running execution REMOVED. Not a member: nothing happens (AWS answers 200).
fn leave(scope: &mut Scope, req: &Req<'_>, thing: &str, group: &str) {
    let was = scope
        .groups
        .get_mut(group)
        .is_some_and(|g| g.members.remove(thing));
    if let (true, Some(arn)) = (was, scope.things.get(thing).map(|t| t.thing_arn.clone())) {
        Engine::new(scope, req.fleet).thing_left(thing, &arn, false, req.now);
    }
}

pub fn remove_thing_from_group(scope: &mut Scope, req: &Req<'_>) -> Result<(), ApiError> {
    let body = req.json()?;
    let o = Obj::root(&body)?;
    let group = by_name_or_arn(&o, "thingGroupName", "thingGroupArn", "thinggroup")?;
    let thing = by_name_or_arn(&o, "thingName", "thingArn", "thing")?;
    existing(scope, &thing, std::slice::from_ref(&group))?;
    leave(scope, req, &thing, &group);
    Ok(())
}

/// UpdateThingGroupsForThing: the removals first, then the additions, so a thing at its
/// ten-group limit can move.
pub fn update_groups_for_thing(scope: &mut Scope, req: &Req<'_>) -> Result<(), ApiError> {
    let body = req.json()?;
    let o = Obj::root(&body)?;
    let thing = o
        .str("thingName", &validate::THING_NAME)?
        .ok_or_else(|| ApiError::invalid("thingName is required"))?;
    let add = o
        .str_list(
            "thingGroupsToAdd",
            0,
            MAX_GROUPS_PER_THING,
            &validate::THING_GROUP_NAME,
        )?
        .unwrap_or_default();
    let remove = o
        .str_list(
            "thingGroupsToRemove",
            0,
            MAX_GROUPS_PER_THING,
            &validate::THING_GROUP_NAME,
        )?
        .unwrap_or_default();
    o.bool("overrideDynamicGroups")?;
    let all: Vec<String> = add.iter().chain(&remove).cloned().collect();
    existing(scope, &thing, &all)?;
    let after = scope
        .groups
        .values()
        .filter(|g| g.members.contains(&thing) || add.contains(&g.thing_group_name))
        .filter(|g| !remove.contains(&g.thing_group_name))
        .count();
    if after > MAX_GROUPS_PER_THING {
        return Err(ApiError::invalid(format!(
            "Thing {thing} would belong to {after} thing groups; the limit is {MAX_GROUPS_PER_THING}."
        )));
    }
    for g in &remove {
        leave(scope, req, &thing, g);
    }
    for g in &add {
        join(scope, req, &thing, g)?;
    }
    Ok(())
}

/// DeleteThing: the thing leaves its groups and is gone with its tags; every active job's
/// running execution of it becomes REMOVED (SNAPSHOT jobs too: AWS names deletion as a
/// cause of REMOVED). Deleting a thing that does not exist succeeds, as in AWS.
pub fn delete_thing(scope: &mut Scope, req: &Req<'_>) -> Result<(), ApiError> {
    let name = name_label(req, "thingName")?.to_owned();
    let expected = req.query.int("expectedVersion", i64::MIN, i64::MAX)?;
    let Some(t) = scope.things.get(&name) else {
        return Ok(());
    };
    if let Some(v) = expected.filter(|v| *v != t.version) {
        return Err(ApiError::new(
            crate::error::ErrorCode::VersionConflict,
            format!(
                "The version of thing {name} is {}, not the expected {v}.",
                t.version
            ),
        ));
    }
    let arn = t.thing_arn.clone();
    for g in scope.groups.values_mut() {
        g.members.remove(&name);
    }
    scope.things.remove(&name);
    scope.drop_tags(&arn, req.now);
    Engine::new(scope, req.fleet).thing_left(&name, &arn, true, req.now);
    Ok(())
}

/// One page of a name-ordered listing: the rows after the token's name, at most
/// `maxResults`, and the token of the next page.
fn page(
    req: &Req<'_>,
    listing: &str,
    rows: Vec<(String, Value)>,
) -> Result<(Vec<Value>, Option<String>), ApiError> {
    let max = req.query.int("maxResults", 1, 250)?.unwrap_or(DEFAULT_PAGE) as usize;
    let after = match req.query.get("nextToken") {
        Some(t) => Some(decode_token(listing, t)?),
        None => None,
    };
    let mut rest: Vec<(String, Value)> = rows
        .into_iter()
        .filter(|(k, _)| after.as_deref().is_none_or(|a| k.as_str() > a))
        .collect();
    let more = rest.len() > max;
    rest.truncate(max);
    let next = match (more, rest.last()) {
        (true, Some((k, _))) => Some(encode_token(listing, k)),
        _ => None,
    };
    Ok((rest.into_iter().map(|(_, v)| v).collect(), next))
}

fn with_token(mut m: Map<String, Value>, next: Option<String>) -> Value {
    if let Some(t) = next {
        m.insert("nextToken".into(), t.into());
    }
    Value::Object(m)
}

fn name_and_arn(g: &ThingGroup) -> (String, Value) {
    (
        g.thing_group_name.clone(),
        json!({"groupName": g.thing_group_name, "groupArn": g.thing_group_arn}),
    )
}

/// The group and its descendants, each once.
fn subtree(scope: &Scope, root: &str) -> Vec<String> {
    let mut out = vec![root.to_owned()];
    let mut i = 0;
    while i < out.len() {
        let kids: Vec<String> = scope
            .groups
            .values()
            .filter(|g| g.parent_group_name.as_deref() == Some(out[i].as_str()))
            .map(|g| g.thing_group_name.clone())
            .filter(|n| !out.contains(n))
            .collect();
        out.extend(kids);
        i += 1;
    }
    out
}

/// ListThingGroups: every group, or with `parentGroup` its children (all descendants with
/// `recursive=true`), filtered by `namePrefixFilter`; in name order.
pub fn list_groups(scope: &mut Scope, req: &Req<'_>) -> Result<Value, ApiError> {
    let parent = req.query.str("parentGroup", &validate::THING_GROUP_NAME)?;
    let prefix = req
        .query
        .str("namePrefixFilter", &validate::THING_GROUP_NAME)?
        .unwrap_or_default();
    let recursive = req.query.bool("recursive")?;
    let under: Option<Vec<String>> = match &parent {
        Some(p) if !scope.groups.contains_key(p) => {
            return Err(ApiError::not_found(format!(
                "Thing group {p} cannot be found."
            )))
        }
        Some(p) if recursive => Some(subtree(scope, p).into_iter().skip(1).collect()),
        Some(p) => Some(
            scope
                .groups
                .values()
                .filter(|g| g.parent_group_name.as_deref() == Some(p.as_str()))
                .map(|g| g.thing_group_name.clone())
                .collect(),
        ),
        None => None,
    };
    let rows = scope
        .groups
        .values()
        .filter(|g| g.thing_group_name.starts_with(&prefix))
        .filter(|g| {
            under
                .as_ref()
                .is_none_or(|u| u.contains(&g.thing_group_name))
        })
        .map(name_and_arn)
        .collect();
    let listing = format!("thinggroups;{parent:?};{prefix};{recursive}");
    let (items, next) = page(req, &listing, rows)?;
    let mut m = Map::new();
    m.insert("thingGroups".into(), Value::Array(items));
    Ok(with_token(m, next))
}

/// ListThingGroupsForThing: the groups the thing is a direct member of.
pub fn list_groups_for_thing(scope: &mut Scope, req: &Req<'_>) -> Result<Value, ApiError> {
    let name = name_label(req, "thingName")?;
    existing(scope, name, &[])?;
    let rows = scope
        .groups
        .values()
        .filter(|g| g.members.contains(name))
        .map(name_and_arn)
        .collect();
    let (items, next) = page(req, &format!("groupsforthing;{name}"), rows)?;
    let mut m = Map::new();
    m.insert("thingGroups".into(), Value::Array(items));
    Ok(with_token(m, next))
}

/// ListThingsInThingGroup: the group's members, with `recursive=true` those of its
/// descendants too, each once, in name order.
pub fn list_things_in_group(scope: &mut Scope, req: &Req<'_>) -> Result<Value, ApiError> {
    let name = name_label(req, "thingGroupName")?;
    let recursive = req.query.bool("recursive")?;
    existing_group(scope, name)?;
    let groups = if recursive {
        subtree(scope, name)
    } else {
        vec![name.to_owned()]
    };
    let mut names: Vec<&String> = groups
        .iter()
        .filter_map(|g| scope.groups.get(g))
        .flat_map(|g| g.members.iter())
        .collect();
    names.sort();
    names.dedup();
    let rows = names
        .into_iter()
        .map(|n| (n.clone(), Value::from(n.as_str())))
        .collect();
    let (items, next) = page(req, &format!("thingsingroup;{name};{recursive}"), rows)?;
    let mut m = Map::new();
    m.insert("things".into(), Value::Array(items));
    Ok(with_token(m, next))
}

fn existing_group(scope: &Scope, name: &str) -> Result<(), ApiError> {
    if scope.groups.contains_key(name) {
        Ok(())
    } else {
        Err(ApiError::not_found(format!(
            "Thing group {name} cannot be found."
        )))
    }
}

/// Creates what a fleet document describes in `scope`: each group (with its parent) and
/// its SIZE things GROUP-0001.., marked simulated. Groups and things that already exist
/// are kept (a document can only grow a fleet); things join CONTINUOUS jobs that target
/// their group. Returns how many things were created.
pub fn apply_fleet(scope: &mut Scope, fleet: &Fleet, now: i64) -> Result<u64, String> {
    let mut created = 0;
    for g in &fleet.groups {
        match scope.groups.get(&g.name) {
            Some(existing) if existing.parent_group_name != g.parent => {
                return Err(format!(
                    "group {} already exists with parent {:?}, the fleet says {:?}",
                    g.name, existing.parent_group_name, g.parent
                ))
            }
            Some(_) => {}
            None => {
                let group = ThingGroup {
                    thing_group_name: g.name.clone(),
                    thing_group_arn: scope.arn(&format!("thinggroup/{}", g.name)),
                    thing_group_id: scope.new_uuid(),
                    parent_group_name: g.parent.clone(),
                    description: None,
                    attributes: BTreeMap::new(),
                    created_at_ms: now,
                    version: 1,
                    members: Default::default(),
                };
                scope.groups.insert(g.name.clone(), group);
            }
        }
        let mut joined = Vec::new();
        for n in 1..=g.size {
            let name = Fleet::thing_name(&g.name, n, g.size);
            if !scope.things.contains_key(&name) {
                let thing = Thing {
                    thing_name: name.clone(),
                    thing_arn: scope.arn(&format!("thing/{name}")),
                    thing_id: scope.new_uuid(),
                    thing_type_name: None,
                    billing_group_name: None,
                    attributes: BTreeMap::new(),
                    version: 1,
                    simulated: true,
                };
                scope.things.insert(name.clone(), thing);
                created += 1;
            }
            let added = scope
                .groups
                .get_mut(&g.name)
                .is_some_and(|grp| grp.members.insert(name.clone()));
            if added {
                joined.push(name);
            }
        }
        let continuous = scope.jobs.values().any(|j| {
            j.target_selection == crate::model::TargetSelection::Continuous && j.status.is_active()
        });
        if continuous {
            let mut engine = Engine::new(scope, Some(fleet));
            for name in joined {
                engine.thing_joined(&name, now);
            }
        }
    }
    Ok(created)
}
