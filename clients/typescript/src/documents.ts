// The operations this kit ships, one per common flow. `npm run codegen` types each of them
// against schema.graphql and records it in persisted-documents.json.
import { graphql } from './gql/index.js';

export const SignIn = graphql(`
  mutation SignIn($email: String!, $password: String!) {
    signIn(input: { email: $email, password: $password }) {
      token
      user {
        id
        email
        name
      }
    }
  }
`);

export const WorkspaceBySlug = graphql(`
  query WorkspaceBySlug($slug: String!) {
    workspace(slug: $slug) {
      id
      name
      slug
      viewerRole
    }
  }
`);

export const Leads = graphql(`
  query Leads($workspaceId: ID!, $filter: LeadFilterInput, $orderBy: LeadOrderInput, $first: Int, $after: String) {
    workspace(id: $workspaceId) {
      leads(filter: $filter, orderBy: $orderBy, first: $first, after: $after) {
        totalCount
        pageInfo {
          hasNextPage
          endCursor
        }
        nodes {
          id
          email
          name
          status
          priority
          createdAt
        }
      }
    }
  }
`);

export const SubmitForm = graphql(`
  mutation SubmitForm($workspaceSlug: String!, $formSlug: String!, $values: JSON!, $idempotencyKey: String) {
    submitForm(workspaceSlug: $workspaceSlug, formSlug: $formSlug, values: $values, idempotencyKey: $idempotencyKey) {
      submissionId
      submittedAt
      successMessage
      replayed
    }
  }
`);

export const LatestLeadEvent = graphql(`
  query LatestLeadEvent($leadId: ID!) {
    lead(id: $leadId) {
      id
      events(first: 1) {
        nodes {
          id
          cursor
          type
        }
      }
    }
  }
`);

export const AddLeadNote = graphql(`
  mutation AddLeadNote($leadId: ID!, $body: String!) {
    addLeadNote(leadId: $leadId, body: $body) {
      id
      cursor
      type
    }
  }
`);

export const RunWorkflow = graphql(`
  mutation RunWorkflow($workflowId: ID!, $leadId: ID, $input: JSON, $idempotencyKey: String) {
    runWorkflow(workflowId: $workflowId, leadId: $leadId, input: $input, idempotencyKey: $idempotencyKey) {
      id
      status
    }
  }
`);

export const ExecutionLogsOf = graphql(`
  query ExecutionLogsOf($executionId: ID!) {
    execution(id: $executionId) {
      id
      status
      logs(first: 1000) {
        cursor
        message
      }
    }
  }
`);

export const ExecutionLogs = graphql(`
  subscription ExecutionLogs($executionId: ID!, $after: String) {
    executionLogs(executionId: $executionId, after: $after) {
      cursor
      level
      message
      createdAt
    }
  }
`);

export const LeadEvents = graphql(`
  subscription LeadEvents($workspaceId: ID!, $after: String) {
    leadEvents(workspaceId: $workspaceId, after: $after) {
      id
      cursor
      type
      data
      createdAt
      actor {
        email
      }
      actorExecutionId
    }
  }
`);

export const DecideApproval = graphql(`
  mutation DecideApproval($executionId: ID!, $nodeKey: String!) {
    decideApproval(executionId: $executionId, nodeKey: $nodeKey, approved: true, comment: "approved by the kit example") {
      id
      status
    }
  }
`);
